"""Recently served feeds, by ETag: a shop polls the same feed again and again, and partners
without price rules of their own all get the same bytes.

A feed is still streamed the first time (its chunks are kept as they are sent, and dropped if
it grows beyond ``max_entry`` bytes), so a large catalog never sits whole in memory; a small
one is served again from here until the catalog or the partner's rules change, which changes
the ETag. Only whole-catalog feeds are kept (a delta's ``since`` is each shop's own). Bounded
by ``max_bytes`` in total (32 MiB: the gateway stays well under 200 MB), least recently used
out first.

Feeds are also made ready before they are asked for: the feeds served recently (by partner and
format) are registered here with a way to render them, and when the catalog or a price rule
changes (:meth:`FeedCache.changed`, called by the replica's consumers after commit) they are
rendered again in the background once the changes have settled, so the shop that polls next
finds its new feed in memory. A request for a feed being rendered at that moment waits for it
(single flight) rather than rendering it a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable

from esd_platform.logging import get_logger

log = get_logger("esd.gateway.feeds")

MAX_BYTES = 32 * 1024 * 1024
MAX_ENTRY = 12 * 1024 * 1024
RECENT_FEEDS = 32
"""Feeds (partner and format) kept ready after a change: the most recently served ones."""
RECENT_FOR = 24 * 3600.0
"""A feed not asked for in this long is no longer rendered ahead."""
SETTLE = 1.0
"""Quiet time after the last change before feeds are rendered again (an import is many)."""
SETTLE_AT_MOST = 10.0
"""...but never later than this after the first change of a burst."""
INFLIGHT_WAIT = 30.0

Warm = Callable[[], Awaitable[None]]


class FeedCache:
    def __init__(
        self,
        max_bytes: int = MAX_BYTES,
        max_entry: int = MAX_ENTRY,
        settle: float = SETTLE,
        settle_at_most: float = SETTLE_AT_MOST,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_entry = max_entry
        self.settle = settle
        self.settle_at_most = settle_at_most
        self._entries: OrderedDict[str, list[bytes]] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._total = 0
        self._inflight: dict[str, asyncio.Event] = {}
        self._slots: dict[Hashable, str] = {}
        self._recent: OrderedDict[Hashable, tuple[float, Warm]] = OrderedDict()
        self._burst: tuple[float, float] | None = None
        """First and last change not yet rendered ahead."""
        self._warming: asyncio.Task[None] | None = None
        self.rendered_ahead = 0
        """Feeds rendered in the background so far (for tests and metrics)."""
        self.hits = 0
        """Requests answered from memory."""

    def get(self, key: str) -> list[bytes] | None:
        chunks = self._entries.get(key)
        if chunks is not None:
            self._entries.move_to_end(key)
        return chunks

    def put(self, key: str, chunks: list[bytes], slot: Hashable | None = None) -> None:
        """Keep ``chunks`` under ``key``; a ``slot`` (a partner's format) keeps only its newest
        feed: the one it replaces can never be asked for again, its tag being out of date."""
        size = sum(len(c) for c in chunks)
        if size > self.max_entry or key in self._entries:
            return
        if slot is not None:
            replaced = self._slots.get(slot)
            if replaced is not None and replaced != key:
                self._drop(replaced)
            self._slots[slot] = key
        self._entries[key] = coalesced(chunks)
        self._sizes[key] = size
        self._total += size
        while self._total > self.max_bytes and self._entries:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        if self._entries.pop(key, None) is not None:
            self._total -= self._sizes.pop(key)

    async def keep(
        self, key: str, body: AsyncIterator[bytes], slot: Hashable | None = None
    ) -> AsyncIterator[bytes]:
        """``body`` passed through; kept under ``key`` once complete, unless too large.

        While it runs, :meth:`wait_for` callers of the same key wait for it."""
        done = self._inflight.setdefault(key, asyncio.Event())
        kept: list[bytes] | None = []
        size = 0
        try:
            async for chunk in body:
                if kept is not None:
                    size += len(chunk)
                    if size > self.max_entry:
                        kept = None
                    else:
                        kept.append(chunk)
                yield chunk
            if kept is not None:
                self.put(key, kept, slot)
        finally:
            if self._inflight.get(key) is done:
                del self._inflight[key]
            done.set()

    async def wait_for(self, key: str, timeout: float = INFLIGHT_WAIT) -> list[bytes] | None:  # noqa: ASYNC109 - bounded wait on another request's rendering
        """The feed under ``key``, waiting for a rendering of it in progress; None if none is
        in progress (or it was too large to keep, or took longer than ``timeout``)."""
        kept = self.get(key)
        done = self._inflight.get(key)
        if kept is None and done is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout)
            kept = self.get(key)
        if kept is not None:
            self.hits += 1
        return kept

    # -- rendering ahead ------------------------------------------------------------------------

    def served(self, feed: Hashable, warm: Warm, now: float | None = None) -> None:
        """``feed`` (e.g. partner and format) was asked for; ``warm`` renders it into here."""
        self._recent[feed] = (time.monotonic() if now is None else now, warm)
        self._recent.move_to_end(feed)
        while len(self._recent) > RECENT_FEEDS:
            self._recent.popitem(last=False)

    def changed(self) -> None:
        """The catalog or a price rule changed: render the recent feeds again once it settles."""
        now = time.monotonic()
        self._burst = (now, now) if self._burst is None else (self._burst[0], now)
        if self._warming is None or self._warming.done():
            self._warming = asyncio.get_running_loop().create_task(self._warm_when_settled())

    async def settled(self) -> None:
        """Return once no change waits to be rendered ahead and no rendering runs."""
        while self._warming is not None and not self._warming.done():
            await asyncio.wait({self._warming})

    async def _warm_when_settled(self) -> None:
        while self._burst is not None:
            first, last = self._burst
            due = min(last + self.settle, first + self.settle_at_most)
            now = time.monotonic()
            if now >= due:
                break
            await asyncio.sleep(due - now)
        self._burst = None
        horizon = time.monotonic() - RECENT_FOR
        for feed, (served_at, warm) in list(self._recent.items()):
            if served_at < horizon:
                self._recent.pop(feed, None)
                continue
            if self._burst is not None:
                break  # changed again meanwhile: a new round follows
            try:
                await warm()
                self.rendered_ahead += 1
            except Exception as error:  # a stopped gateway, a dropped connection: next time
                log.warning("feed_render_ahead_failed", feed=str(feed), error=repr(error))
        if self._burst is not None:
            self._warming = asyncio.get_running_loop().create_task(self._warm_when_settled())

    def __len__(self) -> int:
        return len(self._entries)


REPLAY_BLOCK = 1024 * 1024


def coalesced(chunks: list[bytes], block: int = REPLAY_BLOCK) -> list[bytes]:
    """The same bytes in blocks of about ``block``: a kept feed is sent in few large writes."""
    blocks: list[bytes] = []
    pending: list[bytes] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= block:
            blocks.append(b"".join(pending))
            pending, size = [], 0
    if pending:
        blocks.append(b"".join(pending))
    return blocks


async def replay(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


_CACHES: weakref.WeakKeyDictionary[object, FeedCache] = weakref.WeakKeyDictionary()


def cache_for(engine: object) -> FeedCache:
    """The cache of one gateway's database engine (tests run several gateways in one process)."""
    cache = _CACHES.get(engine)
    if cache is None:
        cache = _CACHES[engine] = FeedCache()
    return cache
