"""Reading a whole RDB file (``dump.rdb``) as Redis 2.x to 7.0 write it: rdb.c's
rdbLoadRioWithLoadingCtx, record by record.

``RdbFile(data)`` checks the magic and the version (1 to 10; 11 and later are refused, as
Redis 7.0 refuses them); ``records()`` then yields, in file order:

* ``Aux(name, value)`` for RDB_OPCODE_AUX (redis-ver, ctime, used-mem, ...);
* ``Library(code)`` for RDB_OPCODE_FUNCTION2, one function library (its FUNCTION LOAD code);
* ``Key(db, key, rdb_type, body, expire_ms, idle, freq)`` per key: ``body`` is the object's
  bytes exactly as in the file, so ``payload()`` is the DUMP payload of the value (type byte,
  object, RDB version, CRC64) that RESTORE reads with ``objects.load_payload``; expire_ms is
  -1 or the absolute Unix time in ms; idle (RDB_OPCODE_IDLE, seconds) and freq
  (RDB_OPCODE_FREQ) are -1 when absent;
* ``End(checksum)`` after RDB_OPCODE_EOF, with "ok", "disabled" (a stored CRC of 0: Redis
  does not check it either) or "absent" (RDB versions before 5 have none).

With ``skip_modules``, module data (a key's value of RDB_TYPE_MODULE_2, or MODULE_AUX) is
walked over field by field (rdbLoadCheckModuleValue) and yields ``ModuleData(db, key, module)``
instead of stopping the walk. SELECTDB changes the ``db`` of the keys after it; RESIZEDB is a hint and yields nothing.
Anything Redis 7.0 would refuse raises ``RdbError`` with a message and the byte offset: a
wrong signature, an unsupported version, a record cut short by the end of the file, an
unknown opcode or object type, module data (named by its module type), the 7.0-rc function
format, a CRC64 mismatch. ``data`` may be an mmap: values are sliced out, not copied whole.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

from server.rdb.crc64 import crc64
from server.rdb.listpack import FormatError
from server.rdb.objects import OBJECT_TYPES
from server.rdb.rdbio import Reader
from server.rdb.rdbwalk import (
    MODULE_UINT,
    ModuleValue,
    module_type_name,
    skip_module_fields,
    skip_value,
)

MAX_VERSION = 10

OP_FUNCTION2 = 245
OP_FUNCTION_PRE_GA = 246
OP_MODULE_AUX = 247
OP_IDLE = 248
OP_FREQ = 249
OP_AUX = 250
OP_RESIZEDB = 251
OP_EXPIRETIME_MS = 252
OP_EXPIRETIME = 253
OP_SELECTDB = 254
OP_EOF = 255

_CRC_CHUNK = 1 << 22


class RdbError(Exception):
    """A file Redis 7.0 would not load: ``str()`` says why and where."""


class Aux(NamedTuple):
    name: bytes
    value: bytes


class Library(NamedTuple):
    code: bytes


class Key(NamedTuple):
    db: int
    key: bytes
    rdb_type: int
    body: bytes
    expire_ms: int
    idle: int
    freq: int
    version: int

    def payload(self) -> bytes:
        """The value as a DUMP payload: RESTORE's argument."""
        head = bytes([self.rdb_type]) + self.body + struct.pack("<H", self.version)
        return head + struct.pack("<Q", crc64(head))


class End(NamedTuple):
    checksum: str


class ModuleData(NamedTuple):
    """Module data skipped (``skip_modules``): a key's value (``key`` set) or aux data."""

    db: int
    key: bytes | None
    module: str


Record = Aux | Library | Key | ModuleData | End


def show_key(key: bytes) -> str:
    """A key as redis-cli quotes it: printable ASCII as is, other bytes as \\xNN."""
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\x{b:02x}"
                         for b in key) + '"'


def file_crc64(data: bytes, end: int) -> int:
    """CRC64 of ``data[:end]``, in chunks (an mmap of a large file is never copied whole)."""
    crc = 0
    for start in range(0, end, _CRC_CHUNK):
        crc = crc64(data[start : min(end, start + _CRC_CHUNK)], crc)  # type: ignore[call-arg]
    return crc


class RdbFile:
    def __init__(self, data: bytes, skip_modules: bool = False) -> None:
        self.data = data
        self.skip_modules = skip_modules
        self.pos = 0  # where the record last yielded by ``records()`` ends
        head = data[:9]
        if len(head) < 9 or head[:5] != b"REDIS":
            raise RdbError("not an RDB file: wrong signature (an RDB file starts with REDIS and "
                           "a 4-digit version)")
        digits = head[5:9]
        # rdb.c reads the version with atoi: the leading digits
        n = 0
        while n < 4 and 0x30 <= digits[n] <= 0x39:
            n += 1
        self.version = int(digits[:n]) if n else 0
        if not 1 <= self.version <= MAX_VERSION:
            raise RdbError(f"Can't handle RDB format version {self.version}: this importer reads "
                           f"RDB versions 1 to {MAX_VERSION} (Redis 2.x to 7.0)")

    def _fail(self, r: Reader, start: int, what: str, reason: str) -> RdbError:
        if r.pos >= len(self.data) or reason == "truncated payload":
            return RdbError(f"unexpected end of file in {what} starting at byte {start}: the file "
                            f"is truncated ({len(self.data)} bytes)")
        return RdbError(f"corrupt RDB file: {reason} in {what} starting at byte {start}")

    def records(self) -> Iterator[Record]:
        data = self.data
        r = Reader(data, 9)
        db = 0
        expire_ms = idle = freq = -1
        while True:
            start = r.pos
            what = "a record"
            try:
                op = r.byte()
                if op == OP_EXPIRETIME:
                    what = "an expire time"
                    expire_ms = struct.unpack("<i", r.take(4))[0] * 1000
                elif op == OP_EXPIRETIME_MS:
                    what = "an expire time"
                    expire_ms = struct.unpack("<q", r.take(8))[0]
                elif op == OP_FREQ:
                    what = "an LFU frequency"
                    freq = r.byte()
                elif op == OP_IDLE:
                    what = "an LRU idle time"
                    idle = r.length()
                elif op == OP_EOF:
                    break
                elif op == OP_SELECTDB:
                    what = "a SELECTDB record"
                    db = r.length()
                elif op == OP_RESIZEDB:
                    what = "a RESIZEDB record"
                    r.length()
                    r.length()
                elif op == OP_AUX:
                    what = "an AUX field"
                    rec: Record = Aux(r.string(), r.string())
                    self.pos = r.pos
                    yield rec
                elif op == OP_MODULE_AUX:
                    what = "module AUX data"
                    name = module_type_name(r.length())
                    if self.skip_modules:
                        if r.length() != MODULE_UINT:
                            raise FormatError("bad when_opcode")
                        r.length()  # when
                        skip_module_fields(r)
                        rec = ModuleData(db, None, name)
                        self.pos = r.pos
                        yield rec
                        continue
                    raise RdbError(f"The RDB file contains AUX module data I can't load: no matching "
                                   f"module '{name}' (at byte {start}; module data cannot be imported: "
                                   f"--skip-module-keys skips it)")
                elif op == OP_FUNCTION_PRE_GA:
                    raise RdbError(f"Pre-release function format not supported (a Redis 7.0 release "
                                   f"candidate's function record at byte {start})")
                elif op == OP_FUNCTION2:
                    what = "a function library"
                    rec = Library(r.string())
                    self.pos = r.pos
                    yield rec
                elif op not in OBJECT_TYPES:
                    raise RdbError(f"corrupt RDB file: Unknown RDB encoding type {op} at byte {start}")
                else:
                    what = "a key"
                    key = r.string()
                    what = f"the value of key {show_key(key)} (db {db}, RDB type {op})"
                    body_start = r.pos
                    skip_value(r, op)
                    self.pos = r.pos
                    yield Key(db, key, op, bytes(data[body_start : r.pos]), expire_ms, idle, freq,
                              self.version)
                    expire_ms = idle = freq = -1
            except FormatError as e:
                raise self._fail(r, start, what, str(e)) from None
            except ModuleValue as e:
                if self.skip_modules:
                    try:
                        skip_module_fields(r)
                    except FormatError as fe:
                        raise self._fail(r, start, what, str(fe)) from None
                    self.pos = r.pos
                    yield ModuleData(db, key, e.name)
                    expire_ms = idle = freq = -1
                    continue
                raise RdbError(f"The RDB file contains module data I can't load: no matching module "
                               f"type '{e.name}' ({what.removeprefix('the value of ')}, at byte "
                               f"{start}; module values cannot be imported: --skip-module-keys skips them)") from None
        end = End(self._checksum(r))
        self.pos = r.pos
        yield end

    def _checksum(self, r: Reader) -> str:
        if self.version < 5:
            return "absent"
        end = r.pos
        try:
            stored = struct.unpack("<Q", r.take(8))[0]
        except FormatError:
            raise RdbError(f"unexpected end of file in the CRC64 checksum after the EOF opcode at "
                           f"byte {end - 1}: the file is truncated ({len(self.data)} bytes)") from None
        if stored == 0:
            return "disabled"
        computed = file_crc64(self.data, end)
        if stored != computed:
            raise RdbError(f"Wrong RDB checksum expected: ({computed:016x}) got ({stored:016x}): the "
                           f"file is corrupt")
        return "ok"
