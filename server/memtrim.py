"""Give the C allocator's free pages back to the OS once the keyspace is at rest.

Python's small objects live in pymalloc arenas (returned to the OS whole when empty); anything
larger — peer stream and reply buffers, encoded batches, the op log's tail — comes from glibc's
malloc, which keeps freed pages in the middle of its heap resident. Redis's jemalloc purges
such dirty pages on a timer (its ``dirty_decay_ms``); here the server calls glibc's
``malloc_trim(0)`` (which releases every free whole page, not only the heap's top) when the
packing sweep completes a pass that packed something, at most once per ``MIN_INTERVAL_S``: after a burst of writes
the resident memory is what the keys hold, not the burst's high-water mark. Elsewhere than
glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from typing import Any

MIN_INTERVAL_S = 10.0

_trim: Any = None  # glibc's malloc_trim, False when unavailable
_last = -MIN_INTERVAL_S
_last_progress: int | None = None


def _load() -> Any:
    global _trim
    if _trim is None:
        _trim = False
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            fn = libc.malloc_trim
        except (OSError, AttributeError):
            return _trim
        fn.argtypes = [ctypes.c_size_t]
        fn.restype = ctypes.c_int
        _trim = fn
    return _trim


def release(progress: int | None = None, now: float | None = None) -> bool:
    """``malloc_trim(0)`` unless it ran within ``MIN_INTERVAL_S`` or ``progress`` (a count
    that grows with the work done since: the sweep's packed count) is the same as at the last
    trim (nothing was freed since, when the server is at rest); True when it ran."""
    global _last, _last_progress
    now = time.monotonic() if now is None else now
    if now - _last < MIN_INTERVAL_S or (progress is not None and progress == _last_progress):
        return False
    _last_progress = progress
    fn = _load()
    if not fn:
        return False
    _last = now
    fn(0)
    return True
