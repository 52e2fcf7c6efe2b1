"""DUMP and RESTORE of streams against a real redis-server (RESP2 and RESP3, see ``diff``).

The same commands build stream ``s`` on both servers; our DUMP must be Redis's byte for byte
(RDB_TYPE_STREAM_LISTPACKS_2: the listpack nodes with their deleted-entry flags, metadata,
groups, pending entries and consumers), and Redis's payload restored here and ours restored at
Redis must read back the same everywhere: XRANGE, XINFO STREAM (FULL), XINFO GROUPS and
CONSUMERS, XPENDING. Idle times are "now minus a time in the payload", so they are compared
within a tolerance; the times themselves (delivery and seen times) are exact.
"""

from __future__ import annotations

import random
import struct
from typing import Any

import pytest

from server.rdb.crc64 import crc64
from server.rdb.rdbio import Reader, save_len, save_string
from tests.conftest import Differential
from tests.respclient import Reply

BIG = "v" * 300  # 300-byte values: a node fills at 4 KB long before 100 entries


def _sign(body: bytes, version: int = 10) -> bytes:
    body += version.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


def _xadds(n: int, *fields: str, key: str = "s", start: int = 1) -> list[tuple[str, ...]]:
    return [("XADD", key, f"{start + i}-1", *(f % i if "%" in f else f for f in fields)) for i in range(n)]


def _groups(key: str = "s") -> list[tuple[str, ...]]:
    """Two groups: one with three consumers and pending entries (one claimed, delivery counts
    above 1), one created at an ID, never read."""
    return [
        ("XGROUP", "CREATE", key, "g1", "0"),
        ("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", key, ">"),
        ("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", key, ">"),
        ("XGROUP", "CREATECONSUMER", key, "g1", "carol"),
        ("XACK", key, "g1", "2-1"),
        ("XCLAIM", key, "g1", "carol", "0", "3-1"),
        ("XREADGROUP", "GROUP", "g1", "bob", "STREAMS", key, "0"),
        ("XGROUP", "CREATE", key, "g2", "3-1"),
    ]


CASES: dict[str, list[tuple[str, ...]]] = {
    "one entry": [("XADD", "s", "1-1", "f", "v")],
    "small, field kinds": [
        ("XADD", "s", "5-0", "name", "x", "n", "12"),
        ("XADD", "s", "5-1", "name", "y", "n", "-70000"),  # same fields: SAMEFIELDS
        ("XADD", "s", "6-0", "other", "1", "big", "5000000000"),  # other fields
        ("XADD", "s", "9-0", "name", "", "n", "007"),
        ("XADD", "s", "18446744073709551615-0", "name", "last", "n", "x" * 70),
    ],
    "multi-node by count": _xadds(250, "field", "value-%d"),
    "multi-node by bytes": _xadds(60, "f", BIG, "g", "%d"),
    "big field": [("XADD", "s", "1-1", "f", "x" * 5000), ("XADD", "s", "2-1", "f", "y")],
    "deleted entries": [*_xadds(150, "a", "%d"), ("XDEL", "s", "1-1", "3-1", "120-1", "150-1", "999-1")],
    "node freed by XDEL": [*_xadds(120, "a", "%d"), ("XDEL", "s", *[f"{i}-1" for i in range(101, 121)])],
    "trimmed exact": [*_xadds(230, "a", "%d"), ("XTRIM", "s", "MAXLEN", "95")],
    "trimmed approx": [*_xadds(230, "a", "%d"), ("XTRIM", "s", "MAXLEN", "~", "95")],
    "trimmed minid": [*_xadds(50, "a", "%d"), ("XTRIM", "s", "MINID", "20")],
    "xsetid": [*_xadds(5, "a", "%d"), ("XDEL", "s", "2-1"),
               ("XSETID", "s", "100-5", "ENTRIESADDED", "40", "MAXDELETEDID", "50-0")],
    "groups with pending entries": [*_xadds(8, "k", "%d"), *_groups()],
    "groups, deletes and many nodes": [*_xadds(230, "k", "%d", "x", BIG), *_groups(),
                                       ("XDEL", "s", "4-1", "150-1")],
    "empty stream with groups": [("XADD", "s", "1-1", "f", "v"), ("XDEL", "s", "1-1"),
                                 ("XGROUP", "CREATE", "s", "g", "$"),
                                 ("XGROUP", "CREATE", "s", "123", "0", "ENTRIESREAD", "1")],
    "empty stream mkstream": [("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")],
    "everything deleted": [*_xadds(3, "a", "b"), ("XTRIM", "s", "MAXLEN", "0")],
}


def _close(a: Any, b: Any, exact_times: bool, prev: Any = None, entry: bool = False) -> bool:
    """Replies equal, except for idle times (after an ``idle`` key, or the third element of
    an XPENDING entry) and, unless ``exact_times``, millisecond timestamps: within a second."""
    if isinstance(a, Reply) and isinstance(b, Reply):
        if a.type != b.type:
            return False
        if a.type == ":" and a.value != b.value:
            idle = prev == b"idle" or entry
            stamp = not exact_times and min(a.value, b.value) > 10**12
            return (idle or stamp) and abs(a.value - b.value) <= 1000
        if a.type == "%":
            return len(a.value) == len(b.value) and all(
                _close(ka, kb, exact_times) and _close(va, vb, exact_times, ka.value)
                for (ka, va), (kb, vb) in zip(a.value, b.value, strict=True))
        if a.type in "*~>" and a.value is not None and b.value is not None:
            if len(a.value) != len(b.value):
                return False
            pending = len(a.value) == 4 and a.value[1].type == "$" and a.value[2].type == ":"
            return all(_close(x, y, exact_times, a.value[i - 1].value if i else None, pending and i == 2)
                       for i, (x, y) in enumerate(zip(a.value, b.value, strict=True)))
        return bool(a == b)
    return bool(a == b)


def _check_close(diff: Differential, *cmd: Any, exact_times: bool = True) -> None:
    ref, ours = diff.both(*cmd)
    assert _close(ref, ours, exact_times), f"RESP{diff.protocol} {cmd!r}:\n  redis:    {ref!r}\n  activekv: {ours!r}"


def _pending(diff: Differential, key: str, exact: bool) -> None:
    groups = diff.ref.call("XINFO", "GROUPS", key)
    names = []
    for g in groups.value:
        fields = g.value if g.type == "*" else [x for kv in g.value for x in kv]
        names.append(fields[1].value)
    for name in names:
        diff.check("XPENDING", key, name)
        _check_close(diff, "XPENDING", key, name, "-", "+", "100")
        _check_close(diff, "XINFO", "CONSUMERS", key, name, exact_times=exact)


def _reads(diff: Differential, key: str, exact: bool = True) -> None:
    diff.check("TYPE", key)
    diff.check("XLEN", key)
    diff.check("XRANGE", key, "-", "+")
    diff.check("XREVRANGE", key, "+", "-", "COUNT", "3")
    diff.check("XINFO", "STREAM", key)
    _check_close(diff, "XINFO", "STREAM", key, "FULL", exact_times=exact)
    _check_close(diff, "XINFO", "GROUPS", key)
    _pending(diff, key, exact)


@pytest.mark.parametrize("name", list(CASES))
def test_stream_dump_is_redis_and_restores_both_ways(diff: Differential, name: str) -> None:
    for cmd in CASES[name]:
        diff.check(*cmd)
    _reads(diff, "s", exact=False)  # delivery and seen times: each server's own clock
    ref, ours = diff.both("DUMP", "s")
    assert ref.type == ours.type == "$"
    (ref_body, ref_times), (our_body, our_times) = _times(ref.value), _times(ours.value)
    assert our_body == ref_body, name
    assert all(abs(a - b) <= 1000 for a, b in zip(ref_times, our_times, strict=True))
    # Redis's payload restored here, ours restored at Redis: the same stream on both
    assert diff.ours.call("RESTORE", "from-redis", "0", ref.value).value == "OK"
    assert diff.ref.call("RESTORE", "from-redis", "0", ref.value).value == "OK"
    assert diff.ref.call("RESTORE", "from-us", "0", ours.value).value == "OK"
    assert diff.ours.call("RESTORE", "from-us", "0", ours.value).value == "OK"
    for key in ("from-redis", "from-us"):
        _reads(diff, key)
        diff.check("DUMP", key)  # the restored layout is the payload's
    # the restored stream is a stream like any other: it takes new entries and reads
    diff.check("XADD", "from-redis", "18446744073709551615-1", "new", "entry")
    diff.check("XLEN", "from-redis")
    diff.check("XINFO", "STREAM", "from-redis")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_histories_dump_as_redis(diff: Differential, seed: int) -> None:
    """Seeded XADD (fields as the master's or not, integers, long values), XDEL, XTRIM
    (exact and ``~``) and XREADGROUP/XACK histories: the same bytes, restorable both ways."""
    rng = random.Random(seed)
    names = [["a"], ["a", "b"], ["b", "a"], ["n"]]
    ms = 0
    ids: list[bytes] = []
    for step in range(300):
        r = rng.random()
        if r < 0.75 or step < 20:
            ms += rng.choice([0, 1, 1, 2, 1000])
            fields = [x for f in rng.choice(names) for x in (f, rng.choice(["1", "-5", "x", "v" * rng.choice([3, 70, 400])]))]
            ids.append(diff.check("XADD", "s", f"{ms}-{step}", *fields).value)
        elif r < 0.88:
            diff.check("XDEL", "s", *[rng.choice(ids) for _ in range(3)])
        elif r < 0.92:
            diff.check("XTRIM", "s", "MAXLEN", *rng.choice([["~"], []]), str(rng.randint(20, 200)))
        elif r < 0.95:
            diff.check("XTRIM", "s", "MINID", *rng.choice([["~"], []]), f"{max(ms - 2000, 0)}")
        elif step > 40:
            if diff.ours.call("XINFO", "GROUPS", "s").value == []:
                diff.check("XGROUP", "CREATE", "s", "g", "0")
            diff.check("XREADGROUP", "GROUP", "g", rng.choice(["c1", "c2"]), "COUNT", "5", "STREAMS", "s", ">")
    diff.check("XINFO", "STREAM", "s")
    ref, ours = diff.both("DUMP", "s")
    assert _times(ours.value)[0] == _times(ref.value)[0]
    assert diff.ref.call("RESTORE", "from-us", "0", ours.value).value == "OK"
    assert diff.ours.call("RESTORE", "from-us", "0", ours.value).value == "OK"
    _reads(diff, "from-us")


def test_a_restored_stream_grows_and_trims_as_redis_s(diff: Differential) -> None:
    """After RESTORE the stream's nodes are the payload's (deleted entries included), so later
    XADDs fill and split them, and ``~`` trims whole ones, as Redis does."""
    for cmd in [*_xadds(70, "f", "%d", "g", "x" * 90), ("XDEL", "s", "2-1", "40-1", "70-1")]:
        diff.ref.call(*cmd)
    payload = diff.ref.call("DUMP", "s").value
    diff.check("RESTORE", "r", "0", payload)
    for cmd in [*_xadds(150, "f", "%d", key="r", start=100), ("XINFO", "STREAM", "r"), ("DUMP", "r"),
                ("XTRIM", "r", "MAXLEN", "~", "120"), ("XINFO", "STREAM", "r"), ("DUMP", "r"),
                ("XDEL", "r", "101-1"), ("XTRIM", "r", "MAXLEN", "100"), ("DUMP", "r")]:
        diff.check(*cmd)


def test_a_payload_of_other_node_sizes_keeps_its_layout(diff: Differential) -> None:
    """A Redis with stream-node-max-entries 7 cuts other nodes: restored here, the stream
    keeps them (XINFO's radix-tree counts, ``~`` trims, DUMP are that Redis's)."""
    diff.ref.call("CONFIG", "SET", "stream-node-max-entries", "7")
    try:
        for cmd in [*_xadds(40, "f", "%d"), ("XDEL", "s", "3-1")]:
            diff.ref.call(*cmd)
        payload = diff.ref.call("DUMP", "s").value
    finally:
        diff.ref.call("CONFIG", "SET", "stream-node-max-entries", "100")
    diff.check("RESTORE", "r", "0", payload)
    assert diff.ours.call("DUMP", "r").value == payload
    diff.check("XINFO", "STREAM", "r")
    diff.check("XTRIM", "r", "MAXLEN", "~", "30")
    diff.check("XINFO", "STREAM", "r")
    diff.check("DUMP", "r")


def test_restore_options_work_for_streams(diff: Differential) -> None:
    for cmd in [*_xadds(5, "a", "%d"), *_groups()]:
        diff.check(*cmd)
    payload = diff.ref.call("DUMP", "s").value
    diff.check("RESTORE", "s", "0", payload)  # BUSYKEY
    diff.check("RESTORE", "s", "0", payload, "REPLACE")
    diff.check("XINFO", "STREAM", "s", "FULL")
    diff.check("RESTORE", "t", "2569591501000", payload, "ABSTTL")
    diff.check("PEXPIRETIME", "t")
    diff.check("RESTORE", "u", "1000", payload, "ABSTTL")  # in the past: no key
    diff.check("EXISTS", "u")
    diff.check("RESTORE", "i", "0", payload, "IDLETIME", "1000")
    diff.check("OBJECT", "IDLETIME", "i")
    diff.check("RESTORE", "f", "0", payload, "FREQ", "7")
    diff.check("XLEN", "f")
    diff.check("RESTORE", "t", "0", payload, "REPLACE")
    diff.check("TTL", "t")


def _walk_groups(payload: bytes) -> tuple[list[int], list[int], list[int]]:
    """Where the groups' fields are in a type-19 payload: the offsets of the 8-byte times,
    and the spans of each group's entries-read."""
    r = Reader(payload, 1)
    for _ in range(r.length()):
        r.string()
        r.string()
    for _ in range(8):  # length, last, first, max-deleted IDs, entries-added
        r.length()
    times: list[int] = []
    read_at: list[int] = []
    read_end: list[int] = []
    for _ in range(r.length()):
        r.string()
        r.length()
        r.length()
        read_at.append(r.pos)
        r.length()
        read_end.append(r.pos)
        for _ in range(r.length()):
            r.take(16)
            times.append(r.pos)
            r.take(8)
            r.length()
        for _ in range(r.length()):
            r.string()
            times.append(r.pos)
            r.take(8)
            for _ in range(r.length()):
                r.take(16)
    return times, read_at, read_end


def _times(payload: bytes) -> tuple[bytes, list[int]]:
    """The payload without its CRC and with its delivery and seen times zeroed, and the times."""
    body = bytearray(payload[:-8])
    offsets = _walk_groups(payload)[0]
    times = [struct.unpack_from("<q", body, at)[0] for at in offsets]
    for at in offsets:
        body[at : at + 8] = bytes(8)
    return bytes(body), times


# -- Redis 5/6 payloads (RDB_TYPE_STREAM_LISTPACKS, RDB 9): no first/max-deleted ID, no
# entries-added, no group entries-read --------------------------------------------------------


def _v1_payload(v2: bytes) -> bytes:
    """Redis 7.0's type-19 payload rewritten as type 15 (what Redis 6 wrote): without the
    first ID, max-deleted ID, entries-added and the groups' entries-read."""
    r = Reader(v2, 1)
    for _ in range(r.length()):
        r.string()
        r.string()
    for _ in range(3):  # length, last ID
        r.length()
    meta_end = r.pos
    for _ in range(5):
        r.length()
    _, read_at, read_end = _walk_groups(v2)
    out = [b"\x0f", v2[1:meta_end]]
    pos = r.pos
    for at, end in zip(read_at, read_end, strict=True):
        out.append(v2[pos:at])
        pos = end
    out.append(v2[pos:-10])
    return _sign(b"".join(out), 9)


def test_restore_of_a_redis_6_payload(diff: Differential) -> None:
    for cmd in [*_xadds(120, "a", "%d"), ("XDEL", "s", "5-1"), *_groups(),
                ("XGROUP", "CREATE", "s", "at-first", "1-1"), ("XGROUP", "CREATE", "s", "at-last", "$")]:
        diff.check(*cmd)
    payload = _v1_payload(diff.ref.call("DUMP", "s").value)
    diff.check("RESTORE", "old", "0", payload)
    _reads(diff, "old")
    diff.check("DUMP", "old")  # and 7.0's own type-19 payload of it


# -- corrupt payloads: Redis's error, never a crash ------------------------------------------


def _stream_body(nodes: list[tuple[bytes, bytes]], meta: bytes, groups: bytes = b"\x00") -> bytes:
    out = b"\x13" + save_len(len(nodes))
    for key, lp in nodes:
        out += save_string(key) + save_string(lp)
    return out + meta + groups


def _lp(*elems: bytes) -> bytes:
    from server.rdb import listpack

    return listpack.encode(list(elems))


KEY1 = struct.pack(">QQ", 1, 0)
GOOD_LP = _lp(b"1", b"0", b"1", b"f", b"0", b"2", b"0", b"0", b"v", b"4")
META = b"\x01\x01\x00\x01\x00\x00\x00\x01"  # length 1, last 1-0, first 1-0, maxdel 0-0, added 1


def test_restore_of_corrupt_stream_payloads(diff: Differential) -> None:
    good = _stream_body([(KEY1, GOOD_LP)], META)
    diff.check("RESTORE", "ok", "0", _sign(good))  # the hand-built payload is valid
    diff.check("XRANGE", "ok", "-", "+")
    for body in [
        b"\x13",  # no node count
        b"\x13\x01",  # node count, no node
        _stream_body([(b"short", GOOD_LP)], META),  # node key not 16 bytes
        _stream_body([(KEY1, b"\x07\x00\x00\x00\x00\x00\xff")], META),  # empty listpack
        _stream_body([(KEY1, GOOD_LP), (KEY1, GOOD_LP)], META),  # the same node twice
        _stream_body([(KEY1, GOOD_LP)], b"\x01\x01\x00"),  # metadata cut short
        _stream_body([(KEY1, GOOD_LP)], META, b"\x01\x01g\x00\x00\x00\x01"),  # group cut short
        good[:-3],
        b"\x15" + good[1:],  # RDB_TYPE_STREAM_LISTPACKS_3 is Redis 7.2's: not an object type in 7.0
    ]:
        assert diff.check("RESTORE", "n", "0", _sign(body)).value == "ERR Bad data format", body
    reply = diff.check("RESTORE", "n", "0", _sign(good)[:-1] + b"\x00")  # checksum
    assert reply.value == "ERR DUMP payload version or checksum are wrong"
    diff.check("EXISTS", "n")


def test_corrupt_stream_internals_are_bad_data_format(diff: Differential) -> None:
    """Bodies Redis (sanitize-dump-payload no, its default) would only catch with its deep
    check: we always check; both servers answer with Redis's "Bad data format" once deep
    sanitization is on at Redis."""
    diff.ref.call("CONFIG", "SET", "sanitize-dump-payload", "yes")
    try:
        pel_dup = b"\x01\x01g\x01\x00\x00\x02" + (KEY1 + b"\x00" * 8 + b"\x01") * 2 + b"\x00"
        no_owner = b"\x01\x01g\x01\x00\x00\x01" + KEY1 + b"\x00" * 8 + b"\x01" + b"\x00"
        foreign = b"\x01\x01g\x01\x00\x00\x00\x01\x01c" + b"\x00" * 8 + b"\x01" + KEY1
        for body in [
            _stream_body([(KEY1, _lp(b"1", b"0", b"1", b"f", b"0", b"2", b"0", b"0", b"v", b"9"))], META),
            _stream_body([(KEY1, _lp(b"2", b"0", b"1", b"f", b"0", b"2", b"0", b"0", b"v", b"4"))], META),
            _stream_body([(KEY1, _lp(b"1", b"0", b"1", b"f", b"0", b"2", b"0", b"0"))], META),
            _stream_body([(KEY1, _lp(b"1", b"0", b"1", b"f", b"7", b"2", b"0", b"0", b"v", b"4"))], META),
            _stream_body([(KEY1, _lp(b"x", b"0", b"1", b"f", b"0", b"2", b"0", b"0", b"v", b"4"))], META),
            _stream_body([(KEY1, GOOD_LP)], META, b"\x02\x01g\x01\x00\x00\x00\x00\x01g\x01\x00\x00\x00\x00"),
            _stream_body([(KEY1, GOOD_LP)], META, pel_dup),
            _stream_body([(KEY1, GOOD_LP)], META, no_owner),
            _stream_body([(KEY1, GOOD_LP)], META, foreign),
        ]:
            assert diff.check("RESTORE", "n", "0", _sign(body)).value == "ERR Bad data format", body
        diff.check("EXISTS", "n")
    finally:
        diff.ref.call("CONFIG", "SET", "sanitize-dump-payload", "no")
