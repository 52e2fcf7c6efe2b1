"""A whole-keyspace RDB file, as Redis 7.0.15's rdbSaveRio writes one (rdb.c).

    "REDIS0010"
    AUX redis-ver, redis-bits, ctime, used-mem, [repl-stream-db, repl-id, repl-offset], aof-base
    FUNCTION2 <library code>                                  per function library
    SELECTDB <db> RESIZEDB <keys> <keys with a TTL>           per non-empty database
      [EXPIRETIME_MS <ms, 8 bytes LE>] <type> <key> <value>   per key
    EOF <CRC64 of everything before, 8 bytes LE>

A key's ``<type> <value>`` is exactly the body of its DUMP payload (``objects.DUMPERS``), so the
file holds the values DUMP gives. ``Snapshot.chunks`` yields the file in pieces of about
``KEYS_PER_CHUNK`` keys, so a caller can write one piece per event-loop turn and never stall
other clients (the replication sender does). The key names are taken when it starts; a key is
read when its piece is made, so a key changed meanwhile is saved with its newer value, a key
removed or expired meanwhile is left out (RESIZEDB's counts are only a sizing hint for the
loader, as in Redis). Keys whose time has passed are left out, as a primary's load drops them.
Redis has no IDLE/FREQ records unless maxmemory-policy is an LRU/LFU one; nor do we.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from server.rdb import builtin as _builtin  # noqa: F401  (registers the built-in codecs)
from server.rdb import streams as _streams  # noqa: F401  (registers the stream codec)
from server.rdb.crc64 import crc64
from server.rdb.functions import OPCODE_FUNCTION2
from server.rdb.objects import DUMPERS, RDB_VERSION
from server.rdb.rdbio import save_len, save_string

if TYPE_CHECKING:
    from crdt.keyspace import Keyspace

# rdb.h's opcodes
OPCODE_AUX = 250
OPCODE_RESIZEDB = 251
OPCODE_EXPIRETIME_MS = 252
OPCODE_SELECTDB = 254
OPCODE_EOF = 255

# crcmod's function continues a checksum given as its second argument
crc64_update = cast(Callable[[bytes, int], int], cast(Any, crc64))

REDIS_VERSION = b"7.0.15"
KEYS_PER_CHUNK = 256


@dataclass
class ReplInfo:
    """rdbSaveInfo's part of the AUX fields: written when the file feeds a replica."""

    stream_db: int
    replid: str
    offset: int


def aux(name: bytes, value: bytes) -> bytes:
    """rdbSaveAuxField: the opcode, then name and value as RDB strings (an integer value,
    rdbSaveAuxFieldStrInt, is its decimal text and so stored integer-encoded)."""
    return bytes([OPCODE_AUX]) + save_string(name) + save_string(value)


def header(used_mem: int, repl: ReplInfo | None, ctime: int | None = None) -> bytes:
    out = [b"REDIS%04d" % RDB_VERSION,
           aux(b"redis-ver", REDIS_VERSION),
           aux(b"redis-bits", b"64"),
           aux(b"ctime", b"%d" % (int(time.time()) if ctime is None else ctime)),
           aux(b"used-mem", b"%d" % used_mem)]
    if repl is not None:
        out += [aux(b"repl-stream-db", b"%d" % repl.stream_db),
                aux(b"repl-id", repl.replid.encode()),
                aux(b"repl-offset", b"%d" % repl.offset)]
    out.append(aux(b"aof-base", b"0"))
    return b"".join(out)


def functions_section(codes: list[bytes]) -> bytes:
    """rdbSaveFunctions: one FUNCTION2 record per library (FUNCTION DUMP's records)."""
    return b"".join(bytes([OPCODE_FUNCTION2]) + save_string(code) for code in codes)


def key_record(key: bytes, type_and_value: bytes, expire_ms: int | None) -> bytes:
    """rdbSaveKeyValuePair without the LRU/LFU records."""
    head = b"" if expire_ms is None else bytes([OPCODE_EXPIRETIME_MS]) + struct.pack("<q", expire_ms)
    return head + type_and_value[:1] + save_string(key) + type_and_value[1:]


class Snapshot:
    """One RDB file of ``ks`` (and the function libraries ``codes``), made piece by piece."""

    def __init__(self, ks: Keyspace, codes: list[bytes], used_mem: int,
                 repl: ReplInfo | None = None, functions_only: bool = False,
                 clock: Callable[[], int] | None = None) -> None:
        self.ks = ks
        # the time keys are judged expired at (default: the keyspace's clock of this turn)
        self.clock: Callable[[], int] = clock if clock is not None else lambda: ks.now_ms
        self.codes = codes
        self.used_mem = used_mem
        self.repl = repl
        self.functions_only = functions_only
        self.crc = 0
        self.size = 0
        self.keys_saved = 0
        # the key names of each non-empty database, taken now (RDBFLAGS: data excluded
        # for rdb-filter-only functions)
        self.names: list[tuple[int, list[bytes]]] = []
        if not functions_only:
            for dbi, db in enumerate(ks.dbs):
                if db.entries:
                    self.names.append((dbi, list(db.entries)))

    def _out(self, data: bytes) -> bytes:
        self.crc = crc64_update(data, self.crc)
        self.size += len(data)
        return data

    def chunks(self) -> Iterator[bytes]:
        yield self._out(header(self.used_mem, self.repl) + functions_section(self.codes))
        for dbi, names in self.names:
            db = self.ks.dbs[dbi]
            expiring = sum(1 for k in names if k in db.expires)
            yield self._out(bytes([OPCODE_SELECTDB]) + save_len(dbi) + bytes([OPCODE_RESIZEDB])
                            + save_len(len(names)) + save_len(expiring))
            for start in range(0, len(names), KEYS_PER_CHUNK):
                now = self.clock()
                piece: list[bytes] = []
                for key in names[start:start + KEYS_PER_CHUNK]:
                    if not db.exists(key, now):
                        continue
                    entry = db.peek(key)
                    if entry is None:
                        continue
                    content = entry.content()
                    dumper = DUMPERS.get(content.type_name)
                    if dumper is None:  # a type with no RDB form (none today)
                        continue
                    piece.append(key_record(key, dumper(content), db.expires.get(key)))
                    self.keys_saved += 1
                if piece:
                    yield self._out(b"".join(piece))
        yield self._out(bytes([OPCODE_EOF]))
        yield struct.pack("<Q", self.crc)

    def whole(self) -> bytes:
        return b"".join(self.chunks())
