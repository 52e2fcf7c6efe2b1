"""Waiting for a condition in tests and benchmarks: bounded in time, with a clear failure."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(pred: Callable[[], object], timeout: float, what: str, poll_s: float = 0.05) -> None:
    """Until ``pred()`` is true; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
