"""FUNCTION DUMP / FUNCTION RESTORE against a real redis-server (``diff``, RESP2 and RESP3):
Redis 7.0's payload (RDB_OPCODE_FUNCTION2 records + RDB version + CRC64), byte-identical for
the same library; a dump taken from either server restores in the other; the FLUSH / APPEND /
REPLACE policies and every error of functionRestoreCommand / rdbFunctionLoad / libraryJoin."""

from __future__ import annotations

import struct

import pytest

from server.rdb.crc64 import crc64
from server.rdb.rdbio import save_string
from tests.conftest import Differential

# Short code (stored raw) and code long and repetitive enough for LZF. One function per library:
# Redis lists a library's functions in the order of a dict with a per-process hash seed.
SHORT = "#!lua name=short\nredis.register_function('s', function() return 1 end)"
LONG = ("#!lua name=long\nlocal t = {}\n" + "".join("t[%d] = 'value number %d'\n" % (i, i) for i in range(40))
        + "redis.register_function('f7', function(keys, args) return {redis.call('get', keys[1]), t[7]} end)\n")
OTHER = "#!lua name=other\nredis.register_function('o', function() return 'o' end)"
CLASH = "#!lua name=clash\nredis.register_function('S', function() return 'clash' end)"


@pytest.fixture(autouse=True)
def flushed(diff: Differential) -> None:
    diff.check("FUNCTION", "FLUSH")


def _payload(*records: bytes, version: int = 10) -> bytes:
    body = b"".join(records) + struct.pack("<H", version)
    return body + struct.pack("<Q", crc64(body))


def _function2(code: str) -> bytes:
    return b"\xf5" + save_string(code.encode())


@pytest.mark.parametrize("code", [SHORT, LONG], ids=["raw", "lzf"])
def test_dump_bytes_match_redis(diff: Differential, code: str) -> None:
    diff.check("FUNCTION", "DUMP")  # no library: only the footer
    diff.check("FUNCTION", "LOAD", code)
    dumped = diff.check("FUNCTION", "DUMP")
    assert dumped.value.startswith(b"\xf5")


def test_dumps_cross_restore(diff: Differential) -> None:
    """Two libraries (Redis's order of them is its dict's, so each side restores the other's
    dump rather than comparing bytes)."""
    diff.check_all(("FUNCTION", "LOAD", SHORT), ("FUNCTION", "LOAD", LONG))
    ref_dump = diff.ref.call("FUNCTION", "DUMP").value
    our_dump = diff.ours.call("FUNCTION", "DUMP").value
    diff.check("FUNCTION", "FLUSH")
    assert diff.ref.call("FUNCTION", "RESTORE", our_dump).value == "OK"
    assert diff.ours.call("FUNCTION", "RESTORE", ref_dump).value == "OK"
    diff.check("FUNCTION", "LIST", "WITHCODE", unordered=True)
    diff.check_all(("FCALL", "s", "0"), ("SET", "k", "v"), ("FCALL", "f7", "1", "k"))


def test_restore_policies(diff: Differential) -> None:
    diff.check_all(("FUNCTION", "LOAD", SHORT), ("FUNCTION", "LOAD", OTHER))
    payload = diff.ref.call("FUNCTION", "DUMP").value  # short + other, from Redis
    # With both names taken, which one Redis's error names depends on its per-process dict
    # order: the clash of a one-library payload is checked instead.
    single = _payload(_function2(SHORT))
    diff.check_all(
        ("FUNCTION", "RESTORE", single),  # APPEND (default): the name exists
        ("FUNCTION", "RESTORE", single, "APPEND"),
        ("FUNCTION", "RESTORE", payload, "replace"),
        ("FUNCTION", "DELETE", "other"),
        ("FUNCTION", "RESTORE", payload, "APPEND"),  # short still there
        ("FUNCTION", "LOAD", CLASH),
        ("FUNCTION", "RESTORE", payload, "REPLACE"),  # function S (case-insensitive) is clash's
        ("FUNCTION", "RESTORE", payload, "FLUSH"),  # drops clash, loads short and other
        ("FUNCTION", "LIST", "LIBRARYNAME", "clash"),
        ("FCALL", "s", "0"), ("FCALL", "o", "0"),
        ("FUNCTION", "RESTORE", _payload(), "FLUSH"),  # an empty dump flushes everything
        ("FUNCTION", "LIST"),
        ("FUNCTION", "RESTORE", _payload()),
        ("FUNCTION", "LIST"),
    )


def test_restore_keeps_old_libraries_on_a_failed_join(diff: Differential) -> None:
    diff.check_all(("FUNCTION", "LOAD", CLASH),
                   ("FUNCTION", "RESTORE", _payload(_function2(OTHER), _function2(SHORT))),
                   ("FUNCTION", "LIST", "LIBRARYNAME", "other"), ("FCALL", "S", "0"))


@pytest.mark.parametrize("payload", [
    b"", b"short", _payload()[:-1], _payload(version=11), _payload()[:-1] + b"\x00",
    _payload(b"\x00"), _payload(b"\xf6"), _payload(b"\xf5"), _payload(b"\xf5\x3f"),
    _payload(b"\xf5\xc3\x05\x0a\x00"),
    _payload(_function2("return 1")), _payload(_function2("#!lua\nreturn 1")),
    _payload(_function2("#!lua name=x\nsyntax error")),
    _payload(_function2("#!lua name=x\nreturn 1")),
    _payload(_function2(SHORT), _function2(SHORT)),
    _payload(_function2(SHORT), _function2(CLASH)),
    _payload(_function2(SHORT), b"\x00"),
    _payload(_function2(SHORT), b"\xf5"),
    # 7.0-rc1/rc2 records: name, engine, has-description, [description], code
    _payload(b"\xf6" + save_string(b"old") + save_string(b"lua") + b"\x00"
             + save_string(b"redis.register_function('old', function() return 'rc' end)")),
    _payload(b"\xf6" + save_string(b"old") + save_string(b"lua") + b"\x01" + save_string(b"a description")
             + save_string(b"redis.register_function('old', function() return 'rc' end)")),
    _payload(b"\xf6" + save_string(b"old") + save_string(b"LUA") + b"\x00"
             + save_string(b"redis.register_function('old', function() return 'rc' end)")),
    _payload(b"\xf6" + save_string(b"old")),
    _payload(b"\xf6" + save_string(b"old") + save_string(b"lua")),
    _payload(b"\xf6" + save_string(b"old") + save_string(b"lua") + b"\x01"),
    _payload(b"\xf6" + save_string(b"old") + save_string(b"lua") + b"\x00"),
], ids=lambda p: repr(p[:24]))
def test_restore_payloads(diff: Differential, payload: bytes) -> None:
    diff.check("FUNCTION", "RESTORE", payload)
    diff.check("FUNCTION", "LIST", "WITHCODE", unordered=True)
    diff.check("FCALL", "old", "0")


def test_restore_arguments(diff: Differential) -> None:
    diff.check_all(("FUNCTION", "RESTORE", _payload(), "bad"), ("FUNCTION", "RESTORE", _payload(), "FLUSH", "x"),
                   ("FUNCTION", "RESTORE"), ("FUNCTION", "DUMP", "x"))
