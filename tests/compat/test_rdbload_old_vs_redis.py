"""Files of older RDB versions (written by hand in tests/rdbbuild.py from Redis's formats:
zipmaps, ziplists, intsets, quicklists of ziplists, text-double zsets, Redis 5/6 streams) loaded
by a real redis-server 7.0.15 and imported into a real activekv-server with
``activekv-load-rdb``: the two hold the same keys, types, expire times, encodings and values."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from server.harness.processes import ServerProcess, start_activekv, start_redis
from server.rdb.rdbio import Reader, save_len
from server.rdb.rdbwalk import skip, skip_string
from tests.compat.rdbload_kit import run_import, snapshot
from tests.rdbbuild import HASH, LIST_ZIPLIST, SET, STRING, key, rdb, s, value_list, ziplist
from tests.unit.test_rdbfile import OLD_V3, V6

STREAM_V1 = 15


def _stream_v1(payload: bytes) -> bytes:
    """A Redis 7.0 stream DUMP (RDB_TYPE_STREAM_LISTPACKS_2) rewritten as Redis 5/6 wrote it
    (RDB_TYPE_STREAM_LISTPACKS): without the first ID, max deleted ID, entries added and each
    group's entries read."""
    assert payload[0] == 19
    r = Reader(payload, 1)
    out = bytearray()

    def copy(f: Any) -> None:
        start = r.pos
        f()
        out.extend(payload[start : r.pos])

    nodes = r.length()
    out += save_len(nodes)
    for _ in range(2 * nodes):
        copy(lambda: skip_string(r))
    copy(lambda: (r.length(), r.length(), r.length()))  # length, last ID
    r.length(), r.length(), r.length(), r.length(), r.length()  # dropped v2 fields
    groups = r.length()
    out += save_len(groups)
    for _ in range(groups):
        copy(lambda: (skip_string(r), r.length(), r.length()))
        r.length()  # entries read
        start = r.pos
        for _ in range(r.length()):
            skip(r, 24)
            r.length()
        for _ in range(r.length()):
            skip_string(r)
            skip(r, 8)
            skip(r, 16 * r.length())
        out.extend(payload[start : r.pos])
    assert r.pos == len(payload) - 10
    return bytes(out)


def _stream_file() -> bytes:
    with start_redis() as ref, redis.Redis(port=ref.port) as r:
        for i in range(1, 120):
            r.xadd("st", {"n": str(i)}, id=f"{i}-0")
        r.xdel("st", "3-0")
        r.xgroup_create("st", "g", id="0")
        r.xreadgroup("g", "alice", {"st": ">"}, count=4)
        r.xack("st", "g", "1-0")
        payload = r.dump("st")
    assert payload is not None
    return rdb(9, bytes([STREAM_V1]) + b"\x02st" + _stream_v1(payload))


@pytest.fixture(scope="module")
def ours() -> Iterator[ServerProcess]:
    with start_activekv() as proc:
        yield proc


stderr: list[str] = []


def _compare(ours: ServerProcess, data: bytes, *args: str, probe: tuple[str, int, bytes] | None = None) -> dict[tuple[int, bytes], Any]:
    """Both servers' snapshots after loading ``data`` (equal), and with ``probe`` = (OBJECT
    subcommand, db, key) that reading from both, compared within two seconds (IDLETIME)."""
    d = tempfile.mkdtemp(prefix="rdbload-old-")
    path = os.path.join(d, "old.rdb")
    with open(path, "wb") as f:
        f.write(data)
    seen = []
    with start_redis("--dir", d, "--dbfilename", "old.rdb", *args) as ref:
        if probe:
            with redis.Redis(port=ref.port, db=probe[1]) as r:
                seen.append(r.object(probe[0], probe[2]))
        want = snapshot(ref.port)
    with redis.Redis(port=ours.port) as r:
        r.flushall()
        for name, value in zip(args[::2], args[1::2], strict=True):
            r.config_set(name.removeprefix("--"), value)
    done = run_import(path, ours.port)
    assert done.returncode == 0, done.stderr
    stderr.append(done.stderr)
    if probe:
        with redis.Redis(port=ours.port, db=probe[1]) as r:
            seen.append(r.object(probe[0], probe[2]))
    got = snapshot(ours.port)
    assert got == want
    if probe:
        assert abs(seen[0] - seen[1]) <= 2, seen  # the LRU clock ticks in whole seconds
    return got


def test_a_redis_2_era_file(ours: ServerProcess) -> None:
    got = _compare(ours, OLD_V3)
    assert len(got) == 9 and got[(5, b"zm")][1] == -1


def test_a_redis_3_era_file(ours: ServerProcess) -> None:
    assert len(_compare(ours, V6)) == 4


def test_a_redis_6_stream_with_its_group(ours: ServerProcess) -> None:
    got = _compare(ours, _stream_file())
    assert got[(0, b"st")][0] == b"stream"


def test_the_lru_idle_time_and_the_lfu_counter_in_the_file_are_kept(ours: ServerProcess) -> None:
    _compare(ours, V6, "--maxmemory-policy", "allkeys-lru", probe=("idletime", 1, b"n"))
    _compare(ours, V6, "--maxmemory-policy", "allkeys-lfu", "--lfu-decay-time", "0", probe=("freq", 1, b"z2"))


def test_empty_keys_are_skipped_as_redis_loads_them(ours: ServerProcess) -> None:
    """rdbLoadObject skips an empty collection (an old Redis could save one)."""
    data = rdb(9, key(SET, b"empty-set", value_list([])), key(LIST_ZIPLIST, b"empty-zl", s(ziplist([]))),
               key(HASH, b"empty-hash", save_len(0)), key(STRING, b"k", s(b"v")))
    assert _compare(ours, data) == {(0, b"k"): (b"string", -1, None, b"embstr", b"v")}
    assert "3 empty keys skipped, 0 refused" in stderr[-1]
