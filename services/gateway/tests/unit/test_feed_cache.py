"""The feed cache renders recent feeds ahead once changes settle, and renders each tag once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import cast

from gateway.adapters.feed_cache import FeedCache


async def body(*chunks: bytes, pause: float = 0.0) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await asyncio.sleep(pause)
        yield chunk


async def drain(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def test_a_burst_of_changes_renders_each_recent_feed_once_after_it_settles() -> None:
    cache = FeedCache(settle=0.05, settle_at_most=5)
    rendered: list[str] = []

    async def warm(name: str) -> None:
        rendered.append(name)

    cache.served(("p1", "json"), lambda: warm("p1/json"))
    cache.served(("p2", "yml"), lambda: warm("p2/yml"))
    for _ in range(10):  # an import: many changes in a row
        cache.changed()
        await asyncio.sleep(0.01)
    assert rendered == []  # not while the changes keep coming
    await asyncio.sleep(0.2)
    assert sorted(rendered) == ["p1/json", "p2/yml"]
    assert cache.rendered_ahead == 2


async def test_a_long_burst_still_renders_by_the_deadline() -> None:
    cache = FeedCache(settle=0.05, settle_at_most=0.15)
    rendered: list[str] = []

    async def warm() -> None:
        rendered.append("feed")

    cache.served("feed", warm)
    for _ in range(30):
        cache.changed()
        await asyncio.sleep(0.02)  # never quiet for 50 ms
    assert rendered  # but 150 ms after the first change it rendered anyway


async def test_a_failing_render_is_logged_and_the_others_still_render() -> None:
    cache = FeedCache(settle=0.01)
    rendered: list[str] = []

    async def broken() -> None:
        raise ConnectionError("gateway stopped")

    async def fine() -> None:
        rendered.append("fine")

    cache.served("broken", broken)
    cache.served("fine", fine)
    cache.changed()
    await asyncio.sleep(0.1)
    assert rendered == ["fine"]


async def test_a_request_for_a_tag_being_rendered_waits_for_it_instead_of_rendering_again() -> None:
    cache = FeedCache()
    rendering = asyncio.create_task(drain(cache.keep("tag-1", body(b"a", b"b", pause=0.05))))
    await asyncio.sleep(0.01)
    assert cache.get("tag-1") is None  # still rendering
    kept = await cache.wait_for("tag-1")
    assert kept is not None
    assert b"".join(kept) == b"ab"
    assert await rendering == b"ab"
    assert cache.hits == 1


async def test_no_rendering_in_progress_means_no_wait() -> None:
    cache = FeedCache()
    assert await cache.wait_for("unknown") is None
    assert cache.hits == 0


async def test_an_abandoned_rendering_releases_its_waiters() -> None:
    cache = FeedCache()
    stream = cast(AsyncGenerator[bytes, None], cache.keep("tag-2", body(b"a", b"b", pause=0.05)))
    await stream.__anext__()
    waiter = asyncio.create_task(cache.wait_for("tag-2", timeout=5))
    await asyncio.sleep(0.01)
    await stream.aclose()  # the client went away mid-feed
    assert await asyncio.wait_for(waiter, 1) is None


def test_a_newer_feed_of_the_same_partner_and_format_replaces_the_old_one() -> None:
    cache = FeedCache()
    cache.put("tag-old", [b"a" * 10], slot=("p1", "json"))
    cache.put("tag-other", [b"b" * 10], slot=("p1", "yml"))
    cache.put("tag-new", [b"c" * 10], slot=("p1", "json"))
    assert cache.get("tag-old") is None  # out of date: its tag can never be asked for again
    assert cache.get("tag-new") is not None
    assert cache.get("tag-other") is not None
    assert len(cache) == 2
