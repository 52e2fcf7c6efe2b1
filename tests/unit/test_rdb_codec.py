"""Properties of the DUMP/RESTORE serialization (server/rdb): every codec round-trips, the LZF
compressor's output always decompresses to its input, a payload of any value of any type
loads back to that value, and no corrupted payload makes the loader fail with anything but
FormatError (RESTORE's "Bad data format": never a crash)."""

from __future__ import annotations

import math
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.keyspace import Keyspace
from crdt.types.ormap import HashSet
from crdt.types.orset import SetAdd
from crdt.types.sequence import ListPush
from crdt.types.strings import Assign
from crdt.types.zset import ZAssign
from server.commands.registry import build_table
from server.rdb import intset, listpack, lzf, ziplist
from server.rdb.crc64 import crc64
from server.rdb.listpack import FormatError
from server.rdb.objects import dump_payload, load_payload, verify_payload

build_table()  # import every command module: each registers its type's encodings

# elements: short and long, text and binary, canonical integers of every width and near-misses
ints = st.integers(-(1 << 63), (1 << 63) - 1).map(lambda i: b"%d" % i)
elements = st.one_of(st.binary(max_size=80), ints, st.sampled_from([b"007", b"-0", b"+1", b" 1", b""]),
                     st.binary(min_size=4000, max_size=5000))
repetitive = st.tuples(st.binary(min_size=1, max_size=8), st.integers(3, 400)).map(lambda t: t[0] * t[1])


def test_crc64_is_redis_jones_crc() -> None:
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA  # Redis's crc64.c self-test value


@given(st.one_of(st.binary(max_size=2000), repetitive))
@settings(max_examples=120, deadline=None)
def test_lzf_round_trips(data: bytes) -> None:
    packed = lzf.compress(data, max(len(data) - 4, 0))
    if packed is not None:  # only when smaller, as Redis stores it
        assert len(packed) <= len(data) - 4
        assert lzf.decompress(packed, len(data)) == data
    room = lzf.compress(data, len(data) + len(data) // 32 + 16)
    assert (room is None) == (not data)
    if room is not None:
        assert lzf.decompress(room, len(data)) == data


@given(st.binary(max_size=300), st.integers(0, 400))
def test_lzf_decompress_rejects_garbage_cleanly(data: bytes, size: int) -> None:
    try:
        out = lzf.decompress(data, size)
    except lzf.LzfError:
        return
    assert len(out) == size


@given(st.lists(elements, max_size=40))
@settings(max_examples=80, deadline=None)
def test_listpack_round_trips(values: list[bytes]) -> None:
    assert listpack.decode(listpack.encode(values)) == values


@given(st.sets(st.integers(-(1 << 63), (1 << 63) - 1), max_size=60))
def test_intset_round_trips_sorted(values: set[int]) -> None:
    assert intset.decode(intset.encode(list(values))) == sorted(values)


def _content(effect: object) -> object:
    ks = Keyspace("r")
    ks.emit(effect)  # type: ignore[arg-type]
    ks.commit()
    return ks.dbs[0].entries[b"k"].content()


scores = st.floats(allow_nan=False)
values_by_type = st.one_of(
    elements.map(lambda v: ("string", Assign(0, b"k", v), v)),
    st.lists(elements, min_size=1, max_size=30).map(lambda vs: ("list", ListPush(0, b"k", (), 0, tuple(vs)), vs)),
    st.sets(st.one_of(ints, st.binary(max_size=70)), min_size=1, max_size=30).map(
        lambda ms: ("set", SetAdd(0, b"k", tuple(ms)), sorted(ms))),
    st.dictionaries(st.binary(max_size=70), elements, min_size=1, max_size=30).map(
        lambda d: ("hash", HashSet(0, b"k", tuple(d.items())), sorted(d.items()))),
    st.dictionaries(st.binary(max_size=70), scores, min_size=1, max_size=140).map(
        lambda d: ("zset", ZAssign(0, b"k", tuple(d.items())), sorted(d.items()))),
)


def _normal(kind: str, value: list | bytes) -> object:
    if kind in ("set", "hash", "zset"):
        return sorted(value)  # type: ignore[type-var]
    return value


@given(values_by_type)
@settings(max_examples=80, deadline=None)
def test_payload_of_any_value_loads_back(case: tuple[str, object, object]) -> None:
    kind, effect, expected = case
    payload = dump_payload(_content(effect))
    assert verify_payload(payload)
    got_kind, value = load_payload(payload)
    assert got_kind == kind
    if kind == "zset":  # -0.0 and 0.0 are one score; compare as Redis prints them
        value = [(m, 0.0 if s == 0 else s) for m, s in value]
        expected = [(m, 0.0 if s == 0 else s) for m, s in expected]  # type: ignore[attr-defined]
        assert not any(math.isnan(s) for _, s in value)
    assert _normal(kind, value) == expected


@given(values_by_type, st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
       st.integers(-3, 3))
@settings(max_examples=120, deadline=None)
def test_corrupted_payloads_fail_only_as_bad_format(case: tuple[str, object, object],
                                                    flips: list[tuple[int, int]], cut: int) -> None:
    payload = bytearray(dump_payload(_content(case[1]))[:-10])
    for pos, byte in flips:
        payload[pos % len(payload)] = byte
    body = bytes(payload[: len(payload) + cut] if cut < 0 else payload)
    body += struct.pack("<H", 10)
    signed = body + struct.pack("<Q", crc64(body))
    try:
        load_payload(signed)
    except FormatError:
        pass


@given(st.binary(max_size=60))
def test_ziplist_and_zipmap_reject_garbage_cleanly(data: bytes) -> None:
    for decode in (ziplist.decode, ziplist.decode_zipmap, listpack.decode, intset.decode):
        try:
            decode(data)
        except FormatError:
            pass
