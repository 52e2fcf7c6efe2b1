"""``activekv-load-rdb`` with a dump.rdb written by a real redis-server 7.0.15: every type in
its encodings (listpack and hashtable/quicklist/skiplist variants, intsets, big and LZF strings,
streams with consumer groups and pending entries, TTLs, several dbs, function libraries, LFU
counters) imported into a real activekv-server holds, key for key, what redis-server holds:
the same type, absolute expire time, LFU counter, OBJECT ENCODING and value, and the same DUMP
bytes wherever Redis's bytes do not depend on its hash-table order. Keys that expired before
the import are skipped, as Redis's loader skips them. Then what a user sees when something is
wrong: the exit status and the message for a key that exists (BUSYKEY), --replace, --db, a
truncated or corrupted file, a server that cannot be reached or refuses the password."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from server.harness.processes import ServerProcess, free_port, start_activekv, start_redis
from server.rdb.rdbfile import Key, RdbFile
from tests.compat.rdbload_kit import dumps, fill, run_import, save, snapshot, wait_expired
from tests.rdbbuild import module_file
from tests.security.tlskit import make_certs, start_tls

LFU = ("--maxmemory-policy", "allkeys-lfu", "--lfu-decay-time", "0")  # counters that never decay


@pytest.fixture(scope="module")
def saved() -> Iterator[tuple[str, dict[tuple[int, bytes], Any], dict[tuple[int, bytes], bytes], Any]]:
    """(path of the dump.rdb, redis's snapshot of it, redis's DUMPs, redis's FUNCTION LIST)."""
    with start_redis(*LFU) as ref:
        r = redis.Redis(port=ref.port, socket_timeout=10)
        expired = fill(r)
        path = save(r, ref.workdir)
        wait_expired(r, expired)
        snap = snapshot(ref.port, freq=True)
        keys = sorted(snap)
        yield path, snap, dumps(ref.port, keys), r.function_list(withcode=True)
        r.close()


@pytest.fixture(scope="module")
def our_server() -> Iterator[ServerProcess]:
    with start_activekv(*LFU) as proc:
        yield proc


@pytest.fixture
def ours(our_server: ServerProcess) -> ServerProcess:
    """The module's activekv, emptied (keys in every db, function libraries)."""
    with redis.Redis(port=our_server.port) as r:
        r.flushall()
        r.function_flush()
    return our_server


def test_every_key_is_what_redis_server_holds(saved: Any, ours: ServerProcess) -> None:
    path, ref_snap, ref_dumps, ref_functions = saved
    done = run_import(path, ours.port)
    assert done.returncode == 0, done.stderr
    assert "checksum OK" in done.stderr and "written by Redis 7.0.15" in done.stderr
    assert "2 expired and 0 empty keys skipped" in done.stderr and "0 refused" in done.stderr
    our_snap = snapshot(ours.port, freq=True)
    assert sorted(our_snap) == sorted(ref_snap)
    assert {k for k in ref_snap if k[1].startswith(b"expires-soon")} == set()
    in_file = {r.key for r in RdbFile(open(path, "rb").read()).records() if isinstance(r, Key)}
    assert {b"expires-soon", b"expires-soon-z"} <= in_file  # there, but expired: skipped
    for k, ref in ref_snap.items():
        assert our_snap[k] == ref, k
    # every (type, encoding) the fill was meant to produce is in the file
    kinds = {(v[0], v[3]) for v in ref_snap.values()}
    assert kinds >= {(b"string", b"int"), (b"string", b"embstr"), (b"string", b"raw"),
                     (b"list", b"quicklist"), (b"set", b"intset"),
                     (b"set", b"hashtable"), (b"hash", b"listpack"), (b"hash", b"hashtable"),
                     (b"zset", b"listpack"), (b"zset", b"skiplist"), (b"stream", b"stream")}
    # DUMP: the same bytes except where they follow Redis's hash-table order
    ordered = [k for k, v in ref_snap.items() if v[3] != b"hashtable"]
    ours_dumps = dumps(ours.port, ordered)
    assert {k: ours_dumps[k] for k in ordered} == {k: ref_dumps[k] for k in ordered}
    with redis.Redis(port=ours.port) as r:
        assert sorted(r.function_list(withcode=True)) == sorted(ref_functions)  # Redis: dict order
        assert r.fcall("f1", 0) == b"one"
        assert r.fcall_ro("f2", 2, "a", "b") == 2


def test_existing_keys_are_reported_and_replace_overwrites(saved: Any, ours: ServerProcess) -> None:
    path, ref_snap, _, _ = saved
    with redis.Redis(port=ours.port) as r:
        r.set("str", "mine")
        r.rpush("list-small", "mine")
        again = run_import(path, ours.port)
        # BUSYKEY: the key is named, the others are imported, the exit status says so
        assert again.returncode == 4, again.stderr
        assert 'key "str" (db 0) not imported: BUSYKEY Target key name already exists.' in again.stderr
        assert 'key "list-small" (db 0) not imported: BUSYKEY' in again.stderr
        assert "2 refused" in again.stderr
        assert r.get("str") == b"mine"
        assert r.hgetall("hash-listpack") == {b"f1": b"v1", b"n": b"123", b"neg": b"-77"}
        replaced = run_import(path, ours.port, "--replace", "--quiet")
        assert replaced.returncode == 0, replaced.stderr
        assert r.get("str") == b"hello world"
        assert r.lrange("list-small", 0, -1) == ref_snap[(0, b"list-small")][4]


def test_function_libraries_that_exist_are_refused_without_replace(saved: Any, ours: ServerProcess) -> None:
    path = saved[0]
    with redis.Redis(port=ours.port) as r:
        r.function_load("#!lua name=lib1\nredis.register_function('f1', function() return 'mine' end)")
        done = run_import(path, ours.port)
        assert done.returncode == 4
        assert "function library #!lua name=lib1 not imported: ERR Library lib1 already exists" in done.stderr
        assert r.fcall("f1", 0) == b"mine" and r.fcall_ro("f2", 1, "k") == 1
        assert run_import(path, ours.port, "--replace").returncode == 0
        assert r.fcall("f1", 0) == b"one"


def test_db_imports_one_database(saved: Any, ours: ServerProcess) -> None:
    path, ref_snap, _, _ = saved
    done = run_import(path, ours.port, "--db", "2")
    assert done.returncode == 0, done.stderr
    assert sorted(snapshot(ours.port, freq=True)) == sorted(k for k in ref_snap if k[0] == 2)
    assert run_import(path, ours.port, "--db", "two").returncode == 2
    assert run_import(path, ours.port, "--user", "u").returncode == 2


def test_a_database_the_server_does_not_have_stops_the_import(saved: Any) -> None:
    with start_activekv("--databases", "4") as small:
        done = run_import(saved[0], small.port)
        assert done.returncode == 3
        assert "the server refused SELECT 9: ERR DB index is out of range" in done.stderr
        assert "Traceback" not in done.stderr
        # what came before db 9 in the file is imported, nothing of db 9 anywhere
        with redis.Redis(port=small.port, db=2) as r:
            assert sorted(r.keys()) == [b"db2-list", b"db2-str"]
        assert all(k[1] != b"db9-hash" for k in snapshot(small.port, range(4)))


def test_truncated_and_corrupted_files_are_refused_before_any_write(
        saved: Any, ours: ServerProcess, tmp_path: Any) -> None:
    data = open(saved[0], "rb").read()
    cases = {
        "truncated-middle": (data[: len(data) // 2], "the file is truncated"),
        "truncated-crc": (data[:-3], "unexpected end of file in the CRC64 checksum"),
        "flipped-byte": (data[:300] + bytes([data[300] ^ 0x40]) + data[301:], None),
        "no-magic": (b"RADIS" + data[5:], "not an RDB file: wrong signature"),
        "version-11": (b"REDIS0011" + data[9:], "Can't handle RDB format version 11"),
        "empty": (b"", "not an RDB file"),
    }
    for name, (content, message) in cases.items():
        p = tmp_path / f"{name}.rdb"
        p.write_bytes(content)
        done = run_import(str(p), ours.port)
        assert done.returncode == 1, (name, done.stderr)
        assert "Traceback" not in done.stderr
        if message is None:  # a changed byte: either a structure error or the checksum's
            assert "corrupt" in done.stderr or "truncated" in done.stderr, done.stderr
        else:
            assert message in done.stderr, (name, done.stderr)
    with redis.Redis(port=ours.port) as r:
        assert r.dbsize() == 0
    missing = run_import(str(tmp_path / "nope.rdb"), ours.port)
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_a_file_saved_without_checksum_loads(saved: Any, ours: ServerProcess, tmp_path: Any) -> None:
    p = tmp_path / "nocrc.rdb"
    p.write_bytes(open(saved[0], "rb").read()[:-8] + b"\0" * 8)
    done = run_import(str(p), ours.port, "--quiet")
    assert done.returncode == 0, done.stderr
    assert "saved with checksum disabled: no check performed" in done.stderr
    assert len(snapshot(ours.port)) == len(saved[1])


def test_connection_and_authentication_failures(saved: Any, tmp_path: Any) -> None:
    nobody = run_import(saved[0], free_port())
    assert nobody.returncode == 3 and "cannot connect to 127.0.0.1:" in nobody.stderr
    with start_activekv("--requirepass", "s3cret") as locked:
        no_auth = run_import(saved[0], locked.port)
        assert no_auth.returncode == 3 and "NOAUTH Authentication required." in no_auth.stderr
        wrong = run_import(saved[0], locked.port, "--password", "nope")
        assert wrong.returncode == 3
        assert "authentication failed: WRONGPASS invalid username-password pair" in wrong.stderr
        ok = run_import(saved[0], locked.port, "--password", "s3cret", "--quiet")
        assert ok.returncode == 0, ok.stderr
        user = run_import(saved[0], locked.port, "--user", "default", "--password", "s3cret", "--replace")
        assert user.returncode == 0, user.stderr
    check = run_import(saved[0], free_port(), "--check")
    assert check.returncode == 0 and "checksum OK" in check.stderr


def test_progress_lines_and_tls(saved: Any) -> None:
    certs = make_certs()
    proc, tls_port = start_tls(certs)
    try:
        done = run_import(saved[0], tls_port, "--tls", "--cacert", certs.ca, "--cert", certs.cert,
                          "--key", certs.key, "--progress", "0")
        assert done.returncode == 0, done.stderr
        lines = done.stderr.splitlines()
        assert any(" keys, " in line and " keys/s, " in line and "(100%)" in line for line in lines), lines
        assert lines[-1].startswith(f"activekv-load-rdb: done: {len(saved[1])} keys and 2 function libraries imported")
        with redis.Redis(port=proc.port) as r:
            assert r.dbsize() == sum(1 for db, _ in saved[1] if db == 0)
        untrusted = run_import(saved[0], tls_port, "--tls")
        assert untrusted.returncode == 3 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    finally:
        proc.stop()


def test_a_connection_lost_mid_import_stops_with_status_3(saved: Any) -> None:
    """A server that answers PING, then closes the connection at the first write."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(10)
            buf = b""
            while b"PING" not in buf:
                buf += conn.recv(65536)
            conn.sendall(b"+PONG\r\n")
            conn.recv(65536)  # the first batch: drop the connection

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        done = run_import(saved[0], listener.getsockname()[1])
    finally:
        t.join(10)
        listener.close()
    assert done.returncode == 3, done.stderr
    assert "connection to 127.0.0.1:" in done.stderr and "lost" in done.stderr
    assert "Traceback" not in done.stderr


def test_compressed_quicklist_nodes(ours: ServerProcess) -> None:
    """list-compress-depth 1: the inner nodes of a list are saved as LZF blobs."""
    values = [f"item-{i:05d}-" + "abc" * (i % 20) for i in range(3000)]
    with start_redis("--list-compress-depth", "1") as ref, redis.Redis(port=ref.port) as r:
        r.rpush("compressed", *values)
        r.save()
        path = f"{ref.workdir}/dump.rdb"
        done = run_import(path, ours.port)
    assert done.returncode == 0, done.stderr
    with redis.Redis(port=ours.port) as mine:
        assert mine.lrange("compressed", 0, -1) == [v.encode() for v in values]


def test_module_keys_refuse_the_file_unless_skipped(ours: ServerProcess, tmp_path: Any) -> None:
    p = tmp_path / "modules.rdb"
    p.write_bytes(module_file())
    refused = run_import(str(p), ours.port)
    assert refused.returncode == 1
    assert "no matching module 'graphdata'" in refused.stderr and "--skip-module-keys" in refused.stderr
    done = run_import(str(p), ours.port, "--skip-module-keys")
    assert done.returncode == 0, done.stderr
    assert "key \"doc\" (db 0) skipped: a value of module type 'ReJSON-RL'" in done.stderr
    assert "2 module values skipped" in done.stderr
    with redis.Redis(port=ours.port) as r:
        assert r.keys() == [b"k"]
