"""Keep asyncio's receive buffers off ``mmap``: one call at process start.

Every ``recv`` of an asyncio socket transport (asyncpg's and aiormq's connections) asks for a
256 KiB buffer and shrinks it to what arrived. glibc serves an allocation of that size with a
fresh ``mmap`` (its threshold starts at 128 KiB) and the shrink and free with ``munmap``, so
each message and each query reply cost a map, a page fault and an unmap: ~16 pairs per order in
the orders service alone (``strace -c``, bench/RESULTS.md). Raising the threshold serves these
buffers from the heap; raising the trim threshold with it keeps the heap from being handed back
and grown again by ``brk`` on every receive.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 * 1024 * 1024
"""Allocations above this still get their own mapping (and go back to the system when freed)."""
TRIM_THRESHOLD = 16 * 1024 * 1024
"""Free memory at the heap's top kept for reuse before it is returned to the system."""


def tune_allocator() -> bool:
    """Set glibc's mmap and trim thresholds; False (and nothing changed) elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other libcs have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt answers 1 on success
    mapped = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    trimmed = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    return bool(mapped and trimmed)
