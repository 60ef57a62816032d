"""Recently served feeds, by ETag: a shop polls the same feed again and again, and partners
without price rules of their own all get the same bytes.

A feed is still streamed the first time (its chunks are kept as they are sent, and dropped if
it grows beyond ``max_entry`` bytes), so a large catalog never sits whole in memory; a small
one is served again from here until the catalog or the partner's rules change, which changes
the ETag. Only whole-catalog feeds are kept (a delta's ``since`` is each shop's own). Bounded
by ``max_bytes`` in total (32 MiB: the gateway stays well under 200 MB), least recently used
out first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator

MAX_BYTES = 32 * 1024 * 1024
MAX_ENTRY = 12 * 1024 * 1024


class FeedCache:
    def __init__(self, max_bytes: int = MAX_BYTES, max_entry: int = MAX_ENTRY) -> None:
        self.max_bytes = max_bytes
        self.max_entry = max_entry
        self._entries: OrderedDict[str, list[bytes]] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._total = 0

    def get(self, key: str) -> list[bytes] | None:
        chunks = self._entries.get(key)
        if chunks is not None:
            self._entries.move_to_end(key)
        return chunks

    def put(self, key: str, chunks: list[bytes]) -> None:
        size = sum(len(c) for c in chunks)
        if size > self.max_entry or key in self._entries:
            return
        self._entries[key] = coalesced(chunks)
        self._sizes[key] = size
        self._total += size
        while self._total > self.max_bytes and self._entries:
            old, _ = self._entries.popitem(last=False)
            self._total -= self._sizes.pop(old)

    async def keep(self, key: str, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """``body`` passed through; kept under ``key`` once complete, unless too large."""
        kept: list[bytes] | None = []
        size = 0
        async for chunk in body:
            if kept is not None:
                size += len(chunk)
                if size > self.max_entry:
                    kept = None
                else:
                    kept.append(chunk)
            yield chunk
        if kept is not None:
            self.put(key, kept)

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


_CACHES: dict[str, FeedCache] = {}


def cache_for(database: str) -> FeedCache:
    """The cache of one gateway database (tests run several gateways in one process)."""
    cache = _CACHES.get(database)
    if cache is None:
        cache = _CACHES[database] = FeedCache()
    return cache
