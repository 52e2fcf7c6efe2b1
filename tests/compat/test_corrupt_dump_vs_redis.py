"""RESTORE of corrupt DUMP payloads against redis-server 7.0.15: every test of Redis's
tests/integration/corrupt-dump.tcl as a row (``corrupt_dump_rows.py``), RESP2 and RESP3.

A row sets ``sanitize-dump-payload`` and DEBUG SET-SKIP-CHECKSUM-VALIDATION as its test does,
RESTOREs the payload on both servers and compares the replies, then the commands the test
runs, then PING.

``crash`` rows are the tests where redis-server itself crashes (or the test asserts that it
panics): there the differential is against redis-server with ``sanitize-dump-payload yes``,
what activekv always does (it decodes every element of a payload to build its CRDT value, so
it has no shallow mode that could let a broken structure in): the RESTORE reply must be
redis's sanitized one, and the commands the test runs then get an ordinary reply on activekv
(never an "unexpected error"), which stays up.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess
from server.rdb import listpack
from server.rdb.crc64 import crc64
from server.rdb.rdbio import save_string
from tests.compat.corrupt_dump_rows import ROWS, Row, command_args, tcl
from tests.conftest import Differential
from tests.respclient import RespConnection


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def cdiff(request: pytest.FixtureRequest, debug_servers: tuple[ServerProcess, ServerProcess]) -> Iterator[Differential]:
    d = Differential(debug_servers[0].port, debug_servers[1].port, request.param)
    saved = [(conn, conn.call("CONFIG", "GET", "hash-max-listpack-entries").plain()) for conn in (d.ref, d.ours)]
    yield d
    for conn, hmle in saved:
        conn.call("CONFIG", "SET", "sanitize-dump-payload", "no")
        flat = hmle if d.protocol == 2 else [x for pair in hmle for x in pair]
        conn.call("CONFIG", "SET", *flat)
        conn.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0")
    d.close()


def _setup(conn: RespConnection, row: Row, sanitize: str) -> None:
    assert conn.call("CONFIG", "SET", "sanitize-dump-payload", sanitize).value == "OK"
    assert conn.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1" if row.skip_crc else "0").value == "OK"
    for name, value in row.configs:
        assert conn.call("CONFIG", "SET", name, value).value == "OK"


def _restore(conn: RespConnection, row: Row) -> object:
    args: list[object] = ["RESTORE", row.key, "0", tcl(row.payload)]
    if row.replace:
        args.append("REPLACE")
    return conn.call(*args)


def _no_unexpected(reply: object) -> None:
    text = repr(reply).lower()
    assert "unexpected" not in text and "traceback" not in text, reply


@pytest.mark.parametrize("row", [r for r in ROWS if not r.crash], ids=lambda r: r.name)
def test_corrupt_payload(cdiff: Differential, row: Row) -> None:
    for conn in (cdiff.ref, cdiff.ours):
        _setup(conn, row, row.sanitize)
    ref, ours = _restore(cdiff.ref, row), _restore(cdiff.ours, row)
    assert ours == ref, f"RESTORE {row.name}: redis {ref!r}, activekv {ours!r}"
    for cmd in row.then:
        cdiff.check(*command_args(cmd))
    cdiff.check("PING")


@pytest.mark.parametrize("row", [r for r in ROWS if r.crash], ids=lambda r: r.name)
def test_corrupt_payload_redis_crashes(cdiff: Differential, row: Row) -> None:
    # redis-server with the test's setting crashes here: it is compared with sanitize yes
    # (never given the test's commands), activekv runs with the test's own setting.
    _setup(cdiff.ref, row, "yes")
    _setup(cdiff.ours, row, row.sanitize)
    ref, ours = _restore(cdiff.ref, row), _restore(cdiff.ours, row)
    assert ours == ref, f"RESTORE {row.name}: redis (sanitized) {ref!r}, activekv {ours!r}"
    for cmd in row.then:
        _no_unexpected(cdiff.ours.call(*command_args(cmd)))
    cdiff.check("PING")


def test_skip_checksum_validation(cdiff: Differential) -> None:
    """DEBUG SET-SKIP-CHECKSUM-VALIDATION 1 lets a payload with a wrong CRC64 through to the
    decoder (RESTORE and FUNCTION RESTORE); the RDB version is still checked; 0 restores the check."""
    cdiff.check("SET", "s", "hello")
    good = cdiff.check("DUMP", "s").value
    bad_crc = good[:-1] + bytes([good[-1] ^ 1])
    bad_version = good[:-10] + b"\xff\x00" + good[-8:]
    cdiff.check("RESTORE", "t", "0", bad_crc)
    cdiff.check("FUNCTION", "RESTORE", bad_crc)
    cdiff.check("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1")
    cdiff.check("RESTORE", "t", "0", bad_crc)
    cdiff.check("GET", "t")
    cdiff.check("RESTORE", "u", "0", bad_version)
    cdiff.check("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0")
    cdiff.check("RESTORE", "v", "0", bad_crc)
    cdiff.check("EXISTS", "v")


# -- payloads the corrupt-payload fuzzer found (tests/fuzz/test_corrupt_dump_fuzz.py, checked
# against redis-server with sanitize-dump-payload yes): Redis accepts them, so must we.


def _with_crc(body: bytes) -> bytes:
    return body + struct.pack("<Q", crc64(body))


def _redis_dump(cdiff: Differential, *build: tuple[str, ...]) -> bytes:
    """The payload redis-server DUMPs for key ``s`` after ``build`` (rdbcompression no: the
    listpacks are stored raw, at fixed offsets)."""
    cdiff.ref.call("CONFIG", "SET", "rdbcompression", "no")
    try:
        for cmd in build:
            cdiff.ref.call(*cmd)
        payload = cdiff.ref.call("DUMP", "s").value
        cdiff.ref.call("DEL", "s")
    finally:
        cdiff.ref.call("CONFIG", "SET", "rdbcompression", "yes")
    assert isinstance(payload, bytes)
    return payload


def _restore_both(cdiff: Differential, payload: bytes, *then: tuple[str, ...]) -> None:
    for conn in (cdiff.ref, cdiff.ours):
        conn.call("CONFIG", "SET", "sanitize-dump-payload", "yes")
    cdiff.check("RESTORE", "k", "0", payload, "REPLACE")
    for cmd in then:
        cdiff.check(*cmd, unordered=cmd[0] == "SMEMBERS")  # (a table set: each server's hash order)
    cdiff.check("PING")


def test_found_encoded_value_byte_as_a_length(cdiff: Differential) -> None:
    # rdbLoadLen(rdb, NULL) reads a 0xC0-0xFF byte as its low 6 bits: 0xC2 is a count of 2
    _restore_both(cdiff, _with_crc(b"\x02\xc2\x01a\x01b\x0a\x00"), ("SMEMBERS", "k"))
    _restore_both(cdiff, _with_crc(b"\x00\xc1\x01\x0a\x00"), ("TYPE", "k"))  # ENC_INT16 needs 2 bytes


def test_found_unknown_length_type_in_a_delivery_count(cdiff: Differential) -> None:
    # 0x82-0xBF is RDB_LENERR (2^64 - 1), unchecked for a pending entry's delivery count
    payload = bytearray(_redis_dump(cdiff, ("XADD", "s", "1-1", "f", "v"), ("XGROUP", "CREATE", "s", "g", "0"),
                                    ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")))
    at = len(payload) - 39  # before the consumer count, name, seen time, its PEL and the footer
    assert payload[at] == 1 and payload[at + 1] == 1
    payload[at] = 0xA0
    _restore_both(cdiff, _with_crc(bytes(payload[:-8])), ("XRANGE", "k", "-", "+"), ("XPENDING", "k", "g"))


def test_found_stream_node_count_and_flags_are_not_checked(cdiff: Differential) -> None:
    payload = _redis_dump(cdiff, ("XADD", "s", "1-1", "f", "v"), ("XADD", "s", "1-2", "f", "w"))
    lp = 20  # type, node count, the 16-byte master ID as a string, the listpack's length
    assert payload[lp + 4 : lp + 6] == b"\x0f\x00" and payload[lp + 17] == 2  # 15 elements; SAMEFIELDS
    count = payload[: lp + 4] + b"\x07\x00" + payload[lp + 6 : -8]
    _restore_both(cdiff, _with_crc(count), ("XRANGE", "k", "-", "+"), ("XLEN", "k"))
    flags = payload[: lp + 17] + b"\x06" + payload[lp + 18 : -8]  # a flag bit Redis never reads
    _restore_both(cdiff, _with_crc(flags), ("XRANGE", "k", "-", "+"))


def test_found_lzf_string_of_length_zero(cdiff: Differential) -> None:
    # lzf_decompress returns 0 on any error, and 0 is the length expected: the empty string
    _restore_both(cdiff, _with_crc(b"\x00\xc3\x05\x00\x01\x02\x03\x04\x05\x0a\x00"), ("GET", "k"))
    _restore_both(cdiff, _with_crc(b"\x02\x02\xc3\x05\x00\x01\x02\x03\x04\x05\x01a\x0a\x00"),
                  ("SMEMBERS", "k"))


def test_found_listpack_backlen_checked_by_value(cdiff: Differential) -> None:
    # the first entry's backlen byte is 0x81 (1 with a continuation bit): lpDecodeBacklen reads on
    # into the entry's own byte 0x00 and gets 1, the right value, so Redis accepts it
    _restore_both(cdiff, bytes.fromhex("111515000000060000810001825f3103010102010201ff0a005da3cb1b54958cff"),
                  ("ZCARD", "k"), ("ZSCORE", "k", "_1"), ("ZSCORE", "k", "2"))


def test_found_listpack_scores_read_as_strtod(cdiff: Differential) -> None:
    # zzlStrtod: the longest numeric prefix, 0 without one (an empty score is 0)
    lp = listpack.encode([b"a", b"", b"b", b"12abc", b"c", b" 3", b"d", b"0x10", b"e", b"-inf"])
    _restore_both(cdiff, _with_crc(b"\x11" + save_string(lp, compress=False) + b"\x0a\x00"), ("ZCARD", "k"),
                  *(("ZSCORE", "k", m) for m in "abcde"))


def test_found_text_score_read_as_sscanf(cdiff: Differential) -> None:
    # RDB_TYPE_ZSET (Redis before 2.8): the score "10000000000j.0" is sscanf("%lg")'s 1e10
    _restore_both(cdiff, bytes.fromhex("0303016103312e350162042d322e3001630d313030303030303030306a2e30090067fb005cf3c26540"),
                  ("ZRANGE", "k", "0", "-1", "WITHSCORES"))


def test_found_zipmap_count_is_checked(cdiff: Differential) -> None:
    # zipmapValidateIntegrity: the header says 3 pairs, a corrupt value length swallows one
    _restore_both(cdiff, bytes.fromhex("09190302663109017631000266320101320002663302015f3300ff090038486fe4638cf9c1"))


def test_found_entries_added_replied_as_long_long(cdiff: Differential) -> None:
    # entries-added of an unknown length type: RDB_LENERR, 2^64 - 1, which Redis replies with
    # (and computes the lag from) as a long long: -1, lag -3
    _restore_both(cdiff, bytes.fromhex(
        "13011000000000000000010000000000000000c33a40421d420000001800020101010201846974656d058576"
        "616c75650600010301002001000120030005201c800003825f3103400d40014032020501ff02030202010100"
        "9001076d7967726f757002010201000000000000000100000000000000001aa11334a2010000010105416c69"
        "63651aa11334a201000001000000000000000100000000000000000a006e69264d1e8861e5"),
        ("XINFO", "GROUPS", "k"), ("XINFO", "STREAM", "k"))
