"""tune_allocator: a receive-sized buffer comes from the heap, not from a mapping of its own."""

from __future__ import annotations

import ctypes
import ctypes.util
import subprocess
import sys
import textwrap

import pytest

# each case in a fresh interpreter: mallopt changes the whole process for good
PROBE = textwrap.dedent(
    """
    import ctypes, ctypes.util, sys
    from esd_platform.allocator import tune_allocator

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
            "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = MallInfo2
    if sys.argv[1] == "tuned":
        assert tune_allocator()
    before = libc.mallinfo2().hblks
    buffer = bytearray(256 * 1024)  # what asyncio's transports recv() into
    print(libc.mallinfo2().hblks - before)
    """
)


def _glibc_with_mallinfo2() -> bool:
    name = ctypes.util.find_library("c")
    if not sys.platform.startswith("linux") or name is None:
        return False
    try:
        return hasattr(ctypes.CDLL(name), "mallinfo2")
    except OSError:
        return False


def _mappings_for_one_buffer(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip())


@pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="glibc's mallopt/mallinfo2 only")
def test_a_receive_buffer_gets_a_mapping_of_its_own_by_default() -> None:
    assert _mappings_for_one_buffer("default") == 1  # the cost the tuning removes


@pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="glibc's mallopt/mallinfo2 only")
def test_once_tuned_it_comes_from_the_heap() -> None:
    assert _mappings_for_one_buffer("tuned") == 0
