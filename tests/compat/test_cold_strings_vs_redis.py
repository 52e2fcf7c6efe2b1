"""Plain string keys at rest in their cold form (crdt/entry.py ``freeze``: the packing sweep turns
a plain string into one bytes object) answer every command as redis-server does: each test
writes the same keys to both servers, waits until activekv's sweep has packed them (INFO crdt
``packed_contents`` counts them), then compares reads, introspection and writes over them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess
from tests.compat.helpers import check_near
from tests.conftest import Differential
from tests.respclient import RespConnection

VALUES = {"s": "hello", "i": "12345", "neg": "-7", "e": "", "bin": "a\x00b\r\n\xff",
          "long": "the quick brown fox jumps over the lazy dog " * 3, "f": "3.5"}


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def cdiff(request: pytest.FixtureRequest, debug_servers: tuple[ServerProcess, ServerProcess]) -> Iterator[Differential]:
    d = Differential(debug_servers[0].port, debug_servers[1].port, request.param)
    yield d
    d.close()


def _packed(conn: RespConnection) -> int:
    info = conn.call("INFO", "crdt").value
    text = info.decode() if isinstance(info, bytes) else str(info)
    return int(text.split("packed_contents:")[1].split()[0])


def cold(d: Differential, /, **values: str) -> None:
    """SET ``values`` on both servers, then wait (at most 10 s) until activekv's sweep has
    packed at least that many more keys."""
    before = _packed(d.ours)
    for key, value in values.items():
        d.check("SET", key, value)
    deadline = time.monotonic() + 10
    while _packed(d.ours) < before + len(values):
        assert time.monotonic() < deadline, "the packing sweep did not pack the keys"
        time.sleep(0.05)


def test_reads_of_cold_keys(cdiff: Differential) -> None:
    cold(cdiff, **VALUES)
    for key in VALUES:
        cdiff.check_all(("GET", key), ("STRLEN", key), ("GETRANGE", key, "1", "3"), ("EXISTS", key),
                        ("TYPE", key), ("TTL", key), ("PTTL", key), ("OBJECT", "ENCODING", key),
                        ("DUMP", key), ("SUBSTR", key, "0", "-2"))
    cdiff.check("MGET", *VALUES, "missing")
    cdiff.check("EXISTS", *VALUES, "missing")
    cdiff.check("DBSIZE")
    cdiff.check("KEYS", "*", unordered=True)
    ref, ours = cdiff.both("SCAN", "0", "COUNT", "1000", "TYPE", "string")
    assert ours.value[0].value == ref.value[0].value == b"0"
    assert sorted(r.value for r in ours.value[1].value) == sorted(r.value for r in ref.value[1].value)
    assert len(ref.value[1].value) == len(VALUES)
    cdiff.check("SCAN", "0", "COUNT", "1000", "TYPE", "hash")
    cdiff.check("DEBUG", "DIGEST-VALUE", *VALUES)
    cdiff.check("DEBUG", "DIGEST")


def test_writes_over_cold_keys(cdiff: Differential) -> None:
    cold(cdiff, a="1", b="x", c="v", d="10", e="old", f="v", g="y", h="5")
    cdiff.check_all(("INCR", "a"), ("GET", "a"), ("APPEND", "b", "yz"), ("GET", "b"),
                    ("SETRANGE", "c", "3", "!"), ("GET", "c"), ("INCRBYFLOAT", "d", "0.5"), ("GET", "d"),
                    ("SET", "e", "new", "GET"), ("SET", "f", "w", "NX"), ("SET", "f", "w", "XX"), ("GET", "f"),
                    ("GETDEL", "g"), ("EXISTS", "g"), ("MSETNX", "h", "1", "zz", "2"), ("GET", "h"),
                    ("EXPIRE", "h", "100"), ("TTL", "h"), ("PERSIST", "h"), ("TTL", "h"))
    cold(cdiff, k1="v1", k2="v2", k3="v3")
    cdiff.check_all(("COPY", "k1", "k1copy"), ("GET", "k1copy"), ("RENAME", "k2", "k2new"), ("GET", "k2new"),
                    ("EXISTS", "k2"), ("GETEX", "k3", "PX", "50000"), ("DEL", "k1", "k3"), ("EXISTS", "k1", "k3"))
    check_near(cdiff, "PTTL", "k1copy", tolerance=0)


def test_dump_restore_and_idle_time_of_cold_keys(cdiff: Differential) -> None:
    cold(cdiff, r="restored value", n="42")
    payload = cdiff.check("DUMP", "r").value
    cdiff.check_all(("RESTORE", "r2", "0", payload), ("GET", "r2"), ("RESTORE", "r", "0", payload),
                    ("RESTORE", "r", "0", payload, "REPLACE"), ("GET", "r"))
    ours = cdiff.ours.call("OBJECT", "IDLETIME", "n")  # the access time survives the cold form
    ref = cdiff.ref.call("OBJECT", "IDLETIME", "n")
    assert ours.type == ref.type == ":" and 0 <= ours.value <= 11 and 0 <= ref.value <= 11
    cdiff.check("OBJECT", "FREQ", "n")  # an error under an LRU policy, as in Redis
