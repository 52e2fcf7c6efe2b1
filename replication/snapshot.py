"""Snapshots of the CRDT state: ``<dir>/snapshot.akv``, written atomically.

A snapshot is the state stream of ``crdt.state`` preceded by one msgpack record
``["activekv-snapshot", version, lsn]``: the state includes every op log batch up to ``lsn``.
It is written by a forked child (as Redis's BGSAVE), so the event loop never stalls on it;
without fork it is written in-process.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import msgpack

from crdt import state
from crdt.keyspace import Keyspace

from . import diskio

log = logging.getLogger("activekv")

MAGIC = "activekv-snapshot"
VERSION = 1
FILENAME = "snapshot.akv"


class SnapshotError(Exception):
    pass


def write(ks: Keyspace, directory: str, lsn: int) -> str:
    """Write the snapshot (in this process). Returns its path. On a disk error (``OSError``)
    the temporary file is removed and the previous snapshot is untouched."""
    path = os.path.join(directory, FILENAME)
    tmp = path + f".tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            fd = f.fileno()
            diskio.snapshot_write_all(fd, msgpack.packb([MAGIC, VERSION, lsn]))
            buf = bytearray()
            for record in state.dump(ks):
                buf += record
                if len(buf) > 1 << 20:
                    diskio.snapshot_write_all(fd, buf)
                    buf.clear()
            diskio.snapshot_write_all(fd, buf)
            diskio.fsync(fd)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(directory)
    return path


def fsync_dir(directory: str) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_in_child(ks: Keyspace, directory: str, lsn: int) -> int:
    """Fork a child that writes the snapshot and exits; returns its pid (0 if written here)."""
    try:
        pid = os.fork()
    except OSError:
        write(ks, directory, lsn)
        return 0
    if pid == 0:  # child: write and leave without running any parent cleanup
        code = 0
        try:
            write(ks, directory, lsn)
        except OSError as exc:
            log.warning("Write error saving the snapshot on disk: %s", exc.strerror or exc)
            code = 1
        except BaseException:
            code = 1
        os._exit(code)
    return pid


def records(path: str) -> tuple[int, Iterator[Any]]:
    """Open a snapshot: (lsn, iterator of the state's unpacked records)."""
    f = open(path, "rb")
    unpacker = msgpack.Unpacker(f, raw=False, strict_map_key=False, max_buffer_size=1 << 31)
    try:
        head = next(unpacker)
    except (StopIteration, ValueError) as exc:
        f.close()
        raise SnapshotError(f"snapshot {path} is empty or unreadable") from exc
    if not isinstance(head, list) or len(head) != 3 or head[0] != MAGIC:
        f.close()
        raise SnapshotError(f"{path} is not an activekv snapshot")
    if head[1] != VERSION:
        f.close()
        raise SnapshotError(f"snapshot {path} has unsupported version {head[1]}")

    def rest() -> Iterator[Any]:
        try:
            yield from unpacker
        finally:
            f.close()

    return int(head[2]), rest()


def load(ks: Keyspace, directory: str) -> int:
    """Restore the snapshot if there is one; returns its LSN (0 when none)."""
    path = os.path.join(directory, FILENAME)
    if not os.path.exists(path):
        return 0
    lsn, recs = records(path)
    try:
        state.restore(ks, recs)
    except (state.StateError, ValueError, TypeError, IndexError) as exc:
        raise SnapshotError(f"snapshot {path} is corrupt: {exc}") from exc
    return lsn
