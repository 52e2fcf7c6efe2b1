"""FUNCTION DUMP / FUNCTION RESTORE payloads, as Redis 7.0 writes and reads them
(functions.c's functionsDumpCommand / functionRestoreCommand, rdb.c's rdbSaveFunctions /
rdbFunctionLoad).

A payload is, per library, the opcode ``RDB_OPCODE_FUNCTION2`` (245) and the library's code as
an RDB string (rdbSaveRawString: LZF when that saves at least 4 bytes), then the RDB version
(10, 2 bytes LE) and a CRC64 of everything before it (8 bytes LE), the same footer as DUMP.
Reading also accepts ``RDB_OPCODE_FUNCTION`` (246), the format of Redis 7.0-rc1/rc2 (name,
engine, optional description, code without its shebang), translated the way Redis does to
``#!<engine> name=<name>\\n<code>``.
"""

from __future__ import annotations

import struct

from server.rdb.crc64 import crc64
from server.rdb.listpack import FormatError
from server.rdb.objects import RDB_VERSION
from server.rdb.rdbio import Reader, save_string

OPCODE_FUNCTION2 = 245
OPCODE_FUNCTION_PRE_GA = 246


class PayloadError(Exception):
    """A payload Redis would refuse while reading it; ``str()`` is Redis's message (no ERR)."""


def dump_libraries(codes: list[bytes]) -> bytes:
    body = b"".join(bytes([OPCODE_FUNCTION2]) + save_string(code) for code in codes)
    body += struct.pack("<H", RDB_VERSION)
    return body + struct.pack("<Q", crc64(body))


def _string(reader: Reader, what: str) -> bytes:
    try:
        return reader.string()
    except FormatError:
        raise PayloadError(f"Failed loading {what}") from None


def load_libraries(payload: bytes) -> list[bytes]:
    """The library codes of a payload whose footer was verified (``verify_payload``), in
    payload order. As in Redis, records are read while more than the 10 footer bytes remain,
    and a record may run into the footer (the reader sees the whole payload)."""
    reader = Reader(payload)
    codes: list[bytes] = []
    while len(payload) - reader.pos > 10:
        opcode = reader.byte()
        if opcode == OPCODE_FUNCTION2:
            codes.append(_string(reader, "library payload"))
        elif opcode == OPCODE_FUNCTION_PRE_GA:
            name = _string(reader, "library name")
            engine = _string(reader, "engine name")
            try:
                has_description = reader.length()
            except FormatError:
                raise PayloadError("Failed loading library description indicator") from None
            if has_description:
                _string(reader, "library description")
            code = _string(reader, "library blob")
            codes.append(b"#!%s name=%s\n%s" % (engine, name, code))
        else:
            raise PayloadError("given type is not a function")
    return codes
