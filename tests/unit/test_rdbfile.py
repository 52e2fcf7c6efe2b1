"""The RDB file reader (server/rdb/rdbfile.py) on hand-written files of older RDB versions
(zipmaps, ziplists, intsets, quicklists of ziplists, RDB_TYPE_ZSET's text doubles, expire
times in seconds, files without a checksum), its refusals (Redis 7.0's: version, signature,
module data, the 7.0-rc function format, unknown types, CRC64), and properties: any file built
from random records walks back to exactly those records, each value's payload decodes to the
value written, and every prefix or changed byte of a file is refused only as an RdbError."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import server.rdb.builtin  # noqa: F401  (registers the loaders)
import server.rdb.streams  # noqa: F401
from server.rdb.objects import load_payload
from server.rdb.rdbfile import Aux, End, Key, Library, ModuleData, RdbError, RdbFile
from server.rdb.rdbio import save_len
from server.rdb.rdbwalk import module_type_name
from tests.rdbbuild import (
    HASH,
    HASH_ZIPLIST,
    HASH_ZIPMAP,
    LIST,
    LIST_QUICKLIST,
    LIST_ZIPLIST,
    MODULE_2,
    OP_AUX,
    OP_EXPIRETIME,
    OP_EXPIRETIME_MS,
    OP_FREQ,
    OP_FUNCTION_PRE_GA,
    OP_IDLE,
    OP_MODULE_AUX,
    OP_RESIZEDB,
    OP_SELECTDB,
    SET,
    SET_INTSET,
    STRING,
    ZSET,
    ZSET_2,
    ZSET_ZIPLIST,
    key,
    module_file,
    module_id,
    rdb,
    s,
    string_double,
    value_intset,
    value_list,
    ziplist,
    zipmap,
)


def _keys(data: bytes) -> list[tuple[int, bytes, int, object]]:
    out = []
    for rec in RdbFile(data).records():
        if isinstance(rec, Key):
            out.append((rec.db, rec.key, rec.expire_ms, load_payload(rec.payload())))
    return out


def _error(data: bytes) -> str:
    with pytest.raises(RdbError) as e:
        list(RdbFile(data).records())
    return str(e.value)


OLD_V3 = rdb(
    3,
    bytes([OP_SELECTDB, 0]),
    bytes([OP_EXPIRETIME]) + struct.pack("<i", 2_000_000_000) + key(STRING, b"s", s(b"v")),
    key(LIST, b"l", value_list([b"a", b"b"])),
    key(SET, b"st", value_list([b"x", b"y"])),
    key(ZSET, b"z", save_len(3) + s(b"m") + string_double(1.5) + s(b"n") + string_double(float("inf"))
        + s(b"o") + string_double(float("-inf"))),
    key(HASH, b"h", save_len(1) + s(b"f") + s(b"v")),
    bytes([OP_SELECTDB, 5]),
    key(HASH_ZIPMAP, b"zm", s(zipmap([(b"f", b"v"), (b"g", b"12")]))),
    key(LIST_ZIPLIST, b"zl", s(ziplist([b"a", b"5", b"-300", b"xyz"]))),
    key(SET_INTSET, b"is", value_intset([3, 1, -70000])),
    bytes([OP_EXPIRETIME_MS]) + struct.pack("<q", 1_900_000_000_123)
    + key(ZSET_ZIPLIST, b"zz", s(ziplist([b"a", b"1", b"b", b"2.5"]))),
)


def test_a_redis_2_era_file_reads_every_old_encoding() -> None:
    assert RdbFile(OLD_V3).version == 3
    assert _keys(OLD_V3) == [
        (0, b"s", 2_000_000_000_000, ("string", b"v")),
        (0, b"l", -1, ("list", [b"a", b"b"])),
        (0, b"st", -1, ("set", [b"x", b"y"])),
        (0, b"z", -1, ("zset", [(b"m", 1.5), (b"n", float("inf")), (b"o", float("-inf"))])),
        (0, b"h", -1, ("hash", [(b"f", b"v")])),
        (5, b"zm", -1, ("hash", [(b"f", b"v"), (b"g", b"12")])),
        (5, b"zl", -1, ("list", [b"a", b"5", b"-300", b"xyz"])),
        (5, b"is", -1, ("set", [b"-70000", b"1", b"3"])),
        (5, b"zz", 1_900_000_000_123, ("zset", [(b"a", 1.0), (b"b", 2.5)])),
    ]
    assert list(RdbFile(OLD_V3).records())[-1] == End("absent")


V6 = rdb(
    6,
    bytes([OP_AUX]) + s(b"redis-ver") + s(b"3.2.12"),
    bytes([OP_SELECTDB, 1, OP_RESIZEDB, 3, 0]),
    key(HASH_ZIPLIST, b"hz", s(ziplist([b"f", b"1", b"g", b"two"]))),
    key(LIST_QUICKLIST, b"q", save_len(2) + s(ziplist([b"a", b"b"])) + s(ziplist([b"7"]))),
    bytes([OP_FREQ, 42]) + key(ZSET_2, b"z2", save_len(1) + s(b"m") + struct.pack("<d", -0.25)),
    bytes([OP_IDLE]) + save_len(1000) + key(STRING, b"n", s(b"12345")),
)


def test_a_redis_3_era_file_with_checksum_lfu_and_idle() -> None:
    recs = list(RdbFile(V6).records())
    assert recs[0] == Aux(b"redis-ver", b"3.2.12")
    assert recs[-1] == End("ok")
    keys = [r for r in recs if isinstance(r, Key)]
    assert [(k.db, k.key, k.freq, k.idle) for k in keys] == [
        (1, b"hz", -1, -1), (1, b"q", -1, -1), (1, b"z2", 42, -1), (1, b"n", -1, 1000)]
    assert [load_payload(k.payload()) for k in keys] == [
        ("hash", [(b"f", b"1"), (b"g", b"two")]), ("list", [b"a", b"b", b"7"]),
        ("zset", [(b"m", -0.25)]), ("string", b"12345")]


def test_what_redis_7_refuses_is_refused_with_its_reason() -> None:
    assert "wrong signature" in _error(b"RADIS0009\xff")
    assert "Can't handle RDB format version 11" in _error(b"REDIS0011\xff" + b"\0" * 8)
    assert "Can't handle RDB format version 0" in _error(b"REDISxxxx\xff")
    mid = module_id("ReJSON-RL")
    assert module_type_name(mid) == "ReJSON-RL"
    msg = _error(rdb(9, key(STRING, b"a", s(b"1")), key(MODULE_2, b"doc", save_len(mid) + b"\x00")))
    assert "no matching module type 'ReJSON-RL'" in msg and 'key "doc" (db 0' in msg
    assert "no matching module 'graphdata'" in _error(rdb(9, bytes([OP_MODULE_AUX]) + save_len(module_id("graphdata"))))
    assert "Pre-release function format not supported" in _error(rdb(10, bytes([OP_FUNCTION_PRE_GA]) + s(b"x")))
    assert "Unknown RDB encoding type 8" in _error(rdb(9, key(8, b"k", s(b"v"))))
    assert "Unknown RDB encoding type 20" in _error(rdb(10, key(20, b"k", s(b"v"))))
    good = rdb(9, key(STRING, b"k", s(b"v")))
    bad = good[:-1] + bytes([good[-1] ^ 1])
    assert "Wrong RDB checksum expected" in _error(bad)
    assert list(RdbFile(rdb(9, key(STRING, b"k", s(b"v")), checksum=False)).records())[-1] == End("disabled")


def test_module_data_is_skipped_field_by_field_when_asked() -> None:
    data = module_file()
    assert "AUX module data I can't load: no matching module 'graphdata'" in _error(data)
    recs = list(RdbFile(data, skip_modules=True).records())
    assert [type(r).__name__ for r in recs] == ["ModuleData", "Key", "ModuleData", "End"]
    assert recs[0] == ModuleData(0, None, "graphdata") and recs[2] == ModuleData(0, b"doc", "ReJSON-RL")
    assert recs[-1] == End("ok")
    for n in range(9, len(data)):
        assert "truncated" in _error_skipping(data[:n]), n
    assert "Pre-release module format not supported" in _error(rdb(9, key(6, b"m", save_len(1))))


def _error_skipping(data: bytes) -> str:
    with pytest.raises(RdbError) as e:
        list(RdbFile(data, skip_modules=True).records())
    return str(e.value)


def test_every_prefix_of_a_file_is_refused_as_truncated() -> None:
    for data in (OLD_V3, V6):
        for n in range(9, len(data)):
            msg = _error(data[:n])
            assert "truncated" in msg, (n, msg)


def test_a_function_library_record() -> None:
    code = b"#!lua name=x\nredis.register_function('f', function() return 1 end)"
    recs = list(RdbFile(rdb(10, bytes([245]) + s(code), key(STRING, b"k", s(b"v")))).records())
    assert recs[0] == Library(code)


# -- properties -------------------------------------------------------------------------------

_bytes = st.binary(max_size=40) | st.sampled_from([b"0", b"-1", b"127", b"70000", b"2147483648", b"x" * 90])
_values = st.one_of(
    st.tuples(st.just(STRING), _bytes),
    st.tuples(st.just(LIST), st.lists(_bytes, min_size=1, max_size=8)),
    st.tuples(st.just(SET), st.lists(_bytes, min_size=1, max_size=8, unique=True)),
    st.tuples(st.just(SET_INTSET), st.lists(st.integers(-(1 << 63), (1 << 63) - 1), min_size=1, max_size=8, unique=True)),
    st.tuples(st.just(HASH), st.dictionaries(_bytes, _bytes, min_size=1, max_size=6)),
    st.tuples(st.just(ZSET_2), st.dictionaries(_bytes, st.floats(allow_nan=False), min_size=1, max_size=6)),
)
_record = st.tuples(st.integers(0, 20), st.binary(max_size=12), _values,
                    st.none() | st.integers(0, 1 << 45), st.none() | st.integers(0, 255))


def _body(kind: int, v: object) -> bytes:
    if kind == STRING:
        return s(v)  # type: ignore[arg-type]
    if kind in (LIST, SET):
        return value_list(v)  # type: ignore[arg-type]
    if kind == SET_INTSET:
        return value_intset(v)  # type: ignore[arg-type]
    if kind == HASH:
        return save_len(len(v)) + b"".join(s(a) + s(b) for a, b in v.items())  # type: ignore[attr-defined]
    return save_len(len(v)) + b"".join(s(a) + struct.pack("<d", b) for a, b in v.items())  # type: ignore[attr-defined]


def _expected(kind: int, v: object) -> object:
    if kind == STRING:
        return ("string", v)
    if kind == LIST:
        return ("list", v)
    if kind == SET:
        return ("set", v)
    if kind == SET_INTSET:
        return ("set", [b"%d" % i for i in sorted(v)])  # type: ignore[call-overload]
    if kind == HASH:
        return ("hash", list(v.items()))  # type: ignore[attr-defined]
    return ("zset", list(v.items()))  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None)
@given(st.lists(_record, max_size=8), st.integers(5, 10))
def test_random_files_walk_back_to_their_records(records: list, version: int) -> None:
    parts = []
    db = 0
    want = []
    for rec_db, name, (kind, v), expire, freq in records:
        if rec_db != db:
            parts.append(bytes([OP_SELECTDB]) + save_len(rec_db))
            db = rec_db
        head = b""
        if expire is not None:
            head += bytes([OP_EXPIRETIME_MS]) + struct.pack("<q", expire)
        if freq is not None:
            head += bytes([OP_FREQ, freq])
        parts.append(head + key(kind, name, _body(kind, v)))
        want.append((db, name, -1 if expire is None else expire, -1 if freq is None else freq, _expected(kind, v)))
    data = rdb(version, *parts)
    got = [(k.db, k.key, k.expire_ms, k.freq, load_payload(k.payload()))
           for k in RdbFile(data).records() if isinstance(k, Key)]
    assert got == want


@settings(max_examples=60, deadline=None)
@given(st.lists(_record, min_size=1, max_size=4), st.data())
def test_changed_bytes_are_refused_only_as_rdb_errors(records: list, data: st.DataObject) -> None:
    parts = [key(kind, name, _body(kind, v)) for _, name, (kind, v), _, _ in records]
    good = rdb(9, *parts)
    at = data.draw(st.integers(9, len(good) - 1))
    flip = data.draw(st.integers(1, 255))
    bad = good[:at] + bytes([good[at] ^ flip]) + good[at:][1:]
    try:
        recs = list(RdbFile(bad).records())
    except RdbError:
        return
    # else only a byte turned into an early EOF whose next 8 bytes are zeros: a file "saved
    # with checksum disabled", which Redis loads unchecked too
    assert recs[-1] == End("disabled")
