"""server/memtrim.py: the free pages of the C heap go back to the OS at most once per interval."""

from __future__ import annotations

from server import memtrim


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_release_runs_at_most_once_per_interval_and_only_after_progress() -> None:
    t = 1e9  # a monotonic time far from any earlier call
    assert memtrim.release(1, now=t)
    assert not memtrim.release(2, now=t + memtrim.MIN_INTERVAL_S / 2)
    assert memtrim.release(2, now=t + memtrim.MIN_INTERVAL_S)
    assert not memtrim.release(2, now=t + 5 * memtrim.MIN_INTERVAL_S)  # nothing packed since
    assert memtrim.release(3, now=t + 5 * memtrim.MIN_INTERVAL_S)


def test_release_gives_freed_heap_pages_back() -> None:
    # 64 MB of 2 KB buffers (glibc's heap, not pymalloc's arenas) freed but every 64th: no
    # whole free region at the heap's top, so only a trim returns the pages in between
    blocks = [bytearray(2048) for _ in range(32_768)]
    kept = blocks[::64]
    del blocks
    before = _rss_kb()
    assert memtrim.release(now=2e9)
    assert _rss_kb() < before - 32_000  # (KB)
    assert len(kept) == 512
