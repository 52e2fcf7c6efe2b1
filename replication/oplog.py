"""The op log: every effect batch this region applied, local or replicated, in apply order.

Layout: ``<dir>/oplog/<first-lsn>.aol`` segments. A record is::

    u8 version | u8 type | u32 length | u32 crc32(payload) | payload

``type`` 1 is a batch (``crdt.codec`` bytes), 2 a segment header (msgpack: the VV of
everything before the segment, so a peer's position can be found without reading old
segments). LSNs (log sequence numbers) count batch records from 1 across segments.

Durability follows Redis's ``appendfsync``: records are written to the file before the server
replies to the client that caused them (``flush``); ``always`` also fsyncs then, ``everysec``
fsyncs from a timer, ``no`` leaves it to the OS.

A failed write or fsync (a full disk, EIO: ``diskio``) never leaves part of a record behind:
the file is cut back to its last whole record, the records stay queued, ``status`` says why,
and ``flush`` retries once a second (Redis's AOF error handling). Records are readable by peers
(``durable_lsn``) only once they are in the file.

Recovery (``open``): every segment is read and checked. A torn last record at the end of the
last segment (a crash mid-write) is cut off with a log line; a bad record anywhere else stops
start-up with an error naming the file and offset, unless the operator asked to truncate there.
"""

from __future__ import annotations

import logging
import os
import struct
import time
import zlib
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgpack

from . import diskio

log = logging.getLogger("activekv")

LOG_VERSION = 1
T_BATCH, T_SEGMENT = 1, 2
HEADER = struct.Struct("<BBII")
SEGMENT_BYTES = 64 * 1024 * 1024
TAIL_CACHE_BYTES = 8 * 1024 * 1024
TAIL_RECORD_OVERHEAD = 400  # the tuple, the metadata (with its dependency VV), the list slot
# A reader past the memory tail seeks to the nearest indexed record (one in this many) and
# reads the segment in chunks from there: a lagging peer costs what it is sent, not a scan
# of the whole segment on every resume.
INDEX_EVERY = 1024
READ_CHUNK = 1024 * 1024
RETRY_S = 1.0  # after a failed write or fsync, flushes retry at most this often


class OpLogCorrupt(Exception):
    def __init__(self, path: str, offset: int, reason: str) -> None:
        super().__init__(
            f"op log corrupt at {path} offset {offset}: {reason} "
            f"(start with --oplog-truncate-corrupt yes to cut the log there)"
        )
        self.path = path
        self.offset = offset


@dataclass
class Segment:
    first_lsn: int
    path: str
    start_vv: dict[str, int]
    size: int = 0
    last_lsn: int = 0  # 0 while empty
    max_vv: dict[str, int] = field(default_factory=dict)  # VV after its last record
    index: list[tuple[int, int]] = field(default_factory=list)  # (lsn, offset), sparse

    def note(self, lsn: int, offset: int) -> None:
        """A batch record ``lsn`` starts at ``offset``: index one in ``INDEX_EVERY``."""
        if not self.index or lsn - self.index[-1][0] >= INDEX_EVERY:
            self.index.append((lsn, offset))


def _segment_name(first_lsn: int) -> str:
    return f"{first_lsn:020d}.aol"


def _scan(path: str, offset: int, next_lsn: int, lsn: int) -> Iterator[tuple[int, bytes, Any]]:
    """The batch records of a segment from ``offset`` (the record of ``next_lsn`` or the start
    of the file) on, skipping those before ``lsn``; read in chunks."""
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed by the with below, also mid-iteration)
    except FileNotFoundError:  # truncated away meanwhile
        return
    with f:
        f.seek(offset)
        rest = b""
        while chunk := f.read(READ_CHUNK):
            data = rest + chunk if rest else chunk
            off = 0
            while off + HEADER.size <= len(data):
                _, rtype, length, _ = HEADER.unpack_from(data, off)
                end = off + HEADER.size + length
                if end > len(data):
                    break
                if rtype == T_BATCH:
                    if next_lsn >= lsn:
                        yield next_lsn, data[off + HEADER.size : end], None
                    next_lsn += 1
                off = end
            rest = data[off:]


def encode_record(rtype: int, payload: bytes) -> bytes:
    return HEADER.pack(LOG_VERSION, rtype, len(payload), zlib.crc32(payload)) + payload


class OpLog:
    def __init__(self, directory: str, appendfsync: str = "everysec", segment_bytes: int = SEGMENT_BYTES,
                 truncate_corrupt: bool = False) -> None:
        self.dir = os.path.join(directory, "oplog")
        self.appendfsync = appendfsync
        self.segment_bytes = segment_bytes
        self.truncate_corrupt = truncate_corrupt
        self.segments: list[Segment] = []
        self.next_lsn = 1
        self._fd = -1
        self._pending = bytearray()
        self._dirty = False  # written but not fsynced
        # Recent records for live peers: (lsn, payload, meta), oldest first, from index
        # ``_tail_start`` on (a list, so a reader positions by LSN in O(1)). Bounded in bytes
        # and in count; older records are read back from the segment files.
        self.tail: list[tuple[int, bytes, Any]] = []
        self._tail_start = 0
        self._tail_bytes = 0
        self.bytes_written = 0
        self.fsyncs = 0
        # Peers are only sent records up to here: written (and fsynced with ``always``), so a
        # crash can never make us forget an effect a peer already has.
        self.durable_lsn = 0
        self.status = diskio.DiskStatus()
        self._file_size = 0  # bytes of whole records in the open segment's file
        self._torn = False  # a failed write may have left part of a record after _file_size
        self._last_retry = 0.0

    # -- recovery ----------------------------------------------------------------------------
    def open(self) -> Iterator[tuple[int, bytes]]:
        """Check every segment and yield (lsn, payload) of every batch, oldest first. When the
        iteration ends, the log is open for appends."""
        os.makedirs(self.dir, exist_ok=True)
        names = sorted(n for n in os.listdir(self.dir) if n.endswith(".aol"))
        for i, name in enumerate(names):
            path = os.path.join(self.dir, name)
            last = i == len(names) - 1
            seg = Segment(int(name[:-4]), path, {})
            if self.segments and seg.first_lsn != self.next_lsn:
                raise OpLogCorrupt(path, 0, f"segment starts at lsn {seg.first_lsn}, expected {self.next_lsn}")
            self.next_lsn = seg.first_lsn
            yield from self._read_segment(seg, last)
            self.segments.append(seg)
        for i in range(1, len(self.segments)):  # a closed segment holds what precedes the next
            self.segments[i - 1].max_vv = dict(self.segments[i].start_vv)
        self.durable_lsn = self.next_lsn - 1
        if not self.segments:
            if not self._new_segment({}):
                code = self.status.errno
                raise OSError(code, f"cannot create the op log in {self.dir}: {os.strerror(code)}")
        else:
            seg = self.segments[-1]
            self._fd = os.open(seg.path, os.O_WRONLY | os.O_APPEND)
            self._file_size = seg.size

    def _read_segment(self, seg: Segment, last: bool) -> Iterator[tuple[int, bytes]]:
        with open(seg.path, "rb") as f:
            data = f.read()
        off = 0
        while off < len(data):
            problem = None
            if len(data) - off < HEADER.size:
                problem = "truncated record header"
            else:
                version, rtype, length, crc = HEADER.unpack_from(data, off)
                end = off + HEADER.size + length
                if version != LOG_VERSION:
                    problem = f"unknown record version {version}"
                elif end > len(data):
                    problem = "truncated record"
                elif zlib.crc32(data[off + HEADER.size : end]) != crc:
                    problem = "checksum mismatch"
            if problem is not None:
                torn_tail = last and problem.startswith("truncated")
                if not torn_tail and not self.truncate_corrupt:
                    raise OpLogCorrupt(seg.path, off, problem)
                log.warning("op log: %s at %s offset %d; cutting the log there (%d bytes dropped)",
                            problem, seg.path, off, len(data) - off)
                with open(seg.path, "r+b") as f:
                    f.truncate(off)
                if not last:  # later segments follow a cut: they cannot be trusted in order
                    raise OpLogCorrupt(seg.path, off, problem + "; later segments exist")
                break
            payload = bytes(data[off + HEADER.size : end])
            if rtype == T_SEGMENT:
                seg.start_vv = dict(msgpack.unpackb(payload, raw=False))
                seg.max_vv = dict(seg.start_vv)
            elif rtype == T_BATCH:
                lsn = self.next_lsn
                self.next_lsn += 1
                seg.last_lsn = lsn
                seg.note(lsn, off)
                self._remember(lsn, payload, None)
                yield lsn, payload
            off = end
        seg.size = off

    # -- appends -----------------------------------------------------------------------------
    def _new_segment(self, start_vv: dict[str, int]) -> bool:
        """Start a segment: the current one is written and fsynced, the new one's header
        written and fsynced before it is used. False (and nothing changed) if the disk fails."""
        if self._fd >= 0:
            if not self._write_pending():
                return False
            try:
                diskio.fsync(self._fd)
            except OSError as exc:
                self.status.failed("fsync", exc)
                return False
        path = os.path.join(self.dir, _segment_name(self.next_lsn))
        header = encode_record(T_SEGMENT, msgpack.packb(start_vv))
        fd = -1
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
            diskio.write_all(fd, header)
            diskio.fsync(fd)
            _fsync_dir(self.dir)
        except OSError as exc:
            if fd >= 0:
                os.close(fd)
                try:
                    os.unlink(path)
                except OSError:
                    pass
            self.status.failed("write", exc)
            return False
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = fd
        self._file_size = len(header)
        self._dirty = False
        seg = Segment(self.next_lsn, path, dict(start_vv), max_vv=dict(start_vv))
        seg.size = len(header)
        self.segments.append(seg)
        return True

    def append(self, payload: bytes, vv_after: dict[str, int], meta: Any = None) -> int:
        """Queue one batch record; it reaches the file at the next ``flush``. ``vv_after`` is
        the live VV of the keyspace: the open segment refers to it, a closed one keeps a copy."""
        seg = self.segments[-1]
        if seg.size >= self.segment_bytes and self.status.ok:
            seg.max_vv = dict(seg.max_vv)
            self._new_segment(seg.max_vv)  # on a disk error: the current one goes on, retried
            seg = self.segments[-1]
        lsn = self.next_lsn
        self.next_lsn = lsn + 1
        size = len(payload)
        seg.note(lsn, seg.size)
        pending = self._pending
        pending += HEADER.pack(LOG_VERSION, T_BATCH, size, zlib.crc32(payload))
        pending += payload
        seg.size += HEADER.size + size
        seg.last_lsn = lsn
        seg.max_vv = vv_after
        self._remember(lsn, payload, meta)
        return lsn

    def _remember(self, lsn: int, payload: bytes, meta: Any) -> None:
        tail = self.tail
        tail.append((lsn, payload, meta))
        self._tail_bytes += len(payload) + TAIL_RECORD_OVERHEAD
        while self._tail_bytes > TAIL_CACHE_BYTES and len(tail) - self._tail_start > 1:
            self._tail_bytes -= len(tail[self._tail_start][1]) + TAIL_RECORD_OVERHEAD
            self._tail_start += 1
        if self._tail_start > 4096 and self._tail_start * 2 > len(tail):
            del tail[: self._tail_start]
            self._tail_start = 0

    def _write_pending(self) -> bool:
        """Write the queued records: all of them, or none (a failed or short write is cut
        back to the last whole record and they stay queued). False on a disk error."""
        pending = self._pending
        if not pending and not self._torn:
            return True
        try:
            if self._torn:
                os.ftruncate(self._fd, self._file_size)
                self._torn = False
            if pending:
                diskio.write_all(self._fd, pending)
        except OSError as exc:
            self._torn = True
            try:
                os.ftruncate(self._fd, self._file_size)
                self._torn = False
            except OSError as cut:
                log.warning("op log: could not cut a failed write from %s: %s (retried; a start-up "
                            "before that cuts the torn record)", self.segments[-1].path, cut)
            self.status.failed("write", exc)
            return False
        size = len(pending)
        self._file_size += size
        pending.clear()
        self.bytes_written += size
        self._dirty = True
        if self.status.write_errno:
            self.status.succeeded("write")
        return True

    def flush(self) -> bool:
        """Before replying: write queued records; with ``always``, fsync too. After a disk
        error, retried at most once per ``RETRY_S``. True when the log is healthy."""
        status = self.status
        if not status.ok:
            now = time.monotonic()
            if now - self._last_retry < RETRY_S:
                return False
            self._last_retry = now
            if status.fsync_errno:
                self._dirty = True  # fsync again, whatever the policy
        ok = self._write_pending()
        if ok and self._dirty and (self.appendfsync == "always" or self.status.fsync_errno):
            ok = self.fsync()
        if ok:
            self.durable_lsn = self.next_lsn - 1
        else:
            self._last_retry = time.monotonic()
        return ok and status.ok

    def fsync(self) -> bool:
        """False when the fsync failed (it is tried again next time)."""
        if self._dirty and self._fd >= 0:
            self._dirty = False
            try:
                diskio.fsync(self._fd)
            except OSError as exc:
                self._dirty = True
                self.status.failed("fsync", exc)
                return False
            self.fsyncs += 1
            if self.status.fsync_errno:
                self.status.succeeded("fsync")
        return True

    def fileno(self) -> int:
        return self._fd

    def close(self) -> bool:
        """Write and fsync what is queued and close; False if the disk refused (logged)."""
        ok = True
        if self._fd >= 0:
            ok = self._write_pending()
            if ok:
                self._dirty = True
                ok = self.fsync()
            os.close(self._fd)
            self._fd = -1
        return ok

    # -- reading for peers -------------------------------------------------------------------
    @property
    def first_lsn(self) -> int:
        return self.segments[0].first_lsn if self.segments else 1

    def read_from(self, lsn: int) -> Iterator[tuple[int, bytes, Any]]:
        """(lsn, payload, meta or None) of batches with LSN >= ``lsn``, oldest first (from the
        memory tail when it reaches back, else from the segment files)."""
        tail, start = self.tail, self._tail_start
        if len(tail) > start and tail[start][0] <= lsn:
            i = start + lsn - tail[start][0]
            # A copy of what is there now: the caller may append while it iterates.
            yield from tail[i:]
            return
        self._write_pending()
        for seg in list(self.segments):
            if seg.last_lsn and seg.last_lsn < lsn:
                continue
            next_lsn, offset = seg.first_lsn, 0
            i = bisect_right(seg.index, lsn, key=lambda entry: entry[0]) - 1
            if i >= 0:
                next_lsn, offset = seg.index[i]
            yield from _scan(seg.path, offset, next_lsn, lsn)

    def segment_for(self, vv: dict[str, int]) -> int:
        """The first LSN from which a reader at ``vv`` must start: the start of the last segment
        whose start VV it covers. 0 when the log no longer reaches back that far."""
        start = 0
        for seg in self.segments:
            if all(vv.get(r, 0) >= s for r, s in seg.start_vv.items()):
                start = seg.first_lsn
            else:
                break
        return start

    def truncate_before(self, lsn: int) -> int:
        """Delete whole segments that end before ``lsn`` (never the current one)."""
        removed = 0
        while len(self.segments) > 1 and self.segments[0].last_lsn and self.segments[0].last_lsn < lsn:
            seg = self.segments.pop(0)
            try:
                os.unlink(seg.path)
            except FileNotFoundError:
                pass
            removed += 1
        if removed:
            try:
                _fsync_dir(self.dir)
            except OSError:
                pass  # a failing disk: segments that come back after a crash are only older log
        return removed

    def total_bytes(self) -> int:
        return sum(s.size for s in self.segments)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
