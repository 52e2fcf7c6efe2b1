"""The op log's and the snapshot's disk calls, a failure status, and test-only fault injection.

Redis keeps going when its AOF cannot be written (``flushAppendOnlyFile``): the data stays in
its buffer, ``aof_last_write_status`` turns to ``err``, writes are refused with ``-MISCONF``
and a timer retries every second until the disk takes the data again. ``DiskStatus`` is that
state for the op log: the first failure (and a change of cause) is logged once, a recovery
once, never a line per retry.

EIO and a failing fsync cannot be produced with a real file system in a test, so every write
and fsync of the op log and of snapshots goes through ``write``/``fsync`` here, which fail with
the injected error while one is set (``DEBUG SET-DISK-FAULT``, available only when the server
was started with ``debug-disk-faults yes``; ``server/diskguard.py``).
"""

from __future__ import annotations

import errno
import logging
import os

log = logging.getLogger("activekv")

# name -> (errno, which calls fail): "write" fails every write and fsync, "fsync" only fsyncs,
# "snapshot" only the writes of snapshots (the op log goes on).
FAULTS = {
    "eio": (errno.EIO, "write"),
    "enospc": (errno.ENOSPC, "write"),
    "edquot": (errno.EDQUOT, "write"),
    "fsync-eio": (errno.EIO, "fsync"),
    "snapshot-eio": (errno.EIO, "snapshot"),
}

_injected: tuple[int, str] | None = None


def inject(name: str) -> None:
    """Make the next disk calls fail as ``name`` says ("off": stop failing)."""
    global _injected
    _injected = None if name == "off" else FAULTS[name]


def injected() -> str:
    for name, fault in FAULTS.items():
        if fault == _injected:
            return name
    return "off"


def _check(call: str) -> None:
    fault = _injected
    if fault is not None and (fault[1] == "write" or fault[1] == call):
        raise OSError(fault[0], os.strerror(fault[0]))


def write(fd: int, data: bytes | bytearray | memoryview) -> int:
    _check("write")
    return os.write(fd, data)


def fsync(fd: int) -> None:
    _check("fsync")
    os.fsync(fd)


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """All of ``data`` or an ``OSError`` (a short write is retried for the rest: it ends in a
    write that fails, e.g. ENOSPC, or that completes)."""
    with memoryview(data) as view:  # released even on an error: the caller's buffer can grow
        n = write(fd, view)
        while n < len(view):
            n += write(fd, view[n:])


def snapshot_write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """``write_all`` for a snapshot's data (the ``snapshot-eio`` fault fails only these)."""
    _check("snapshot")
    write_all(fd, data)


class DiskStatus:
    """The op log's health: ``ok``, or the errno of the last failed write or fsync."""

    def __init__(self) -> None:
        self.write_errno = 0  # the last write failed (Redis's aof_last_write_status err)
        self.fsync_errno = 0  # the last fsync failed (Redis's aof_bio_fsync_status err)
        self.failures = 0  # failed attempts, retries included

    @property
    def ok(self) -> bool:
        return not self.write_errno and not self.fsync_errno

    @property
    def errno(self) -> int:
        return self.write_errno or self.fsync_errno

    def failed(self, what: str, exc: OSError) -> None:
        code = exc.errno or errno.EIO
        self.failures += 1
        before = self.errno
        if what == "fsync":
            self.fsync_errno = code
        else:
            self.write_errno = code
        if before != code:
            log.warning("Error %s the op log: %s; writes are refused (MISCONF) until it succeeds "
                        "again, retried every second", "fsyncing" if what == "fsync" else "writing to",
                        os.strerror(code))

    def succeeded(self, what: str) -> None:
        was = self.errno
        if what == "fsync":
            self.fsync_errno = 0
        else:
            self.write_errno = 0
        if was and self.ok:
            log.warning("Op log write error looks solved, activekv can write again.")
