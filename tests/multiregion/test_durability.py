"""G5 durability with real processes: acknowledged writes survive ``kill -9`` with
``appendfsync always``; a corrupt op log refuses to start (one clear line) unless asked to cut
it; the origin id survives a clean stop and changes (new epoch) after a crash, so sequence
numbers are never reused."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import redis

from replication.oplog import HEADER
from server.harness.processes import ROOT, ServerProcess, free_port, start_activekv
from server.harness.regions import Cluster

N = 150


def _write_all(r: redis.Redis, n: int = N) -> None:
    """n acknowledged writes of four kinds; every call returned before the next."""
    for i in range(n):
        assert r.incr("counter") == i + 1
        r.sadd("set", f"m{i}")
        r.hset("hash", f"f{i}", i)
        r.set(f"key:{i}", f"value-{i}")


def _check_all(r: redis.Redis, n: int = N) -> None:
    assert r.get("counter") == str(n).encode()
    assert r.scard("set") == n
    assert r.hlen("hash") == n
    assert r.hget("hash", f"f{n - 1}") == str(n - 1).encode()
    got = r.mget([f"key:{i}" for i in range(n)])
    missing = [i for i, v in enumerate(got) if v != f"value-{i}".encode()]
    assert missing == [], f"acknowledged SETs lost: {missing[:10]}"


def _info(r: redis.Redis) -> dict[str, Any]:
    return r.info("crdt")


def test_acknowledged_writes_survive_kill9_single_region() -> None:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="akv-dur-")
    proc = start_activekv("--appendfsync", "always", port=port, workdir=workdir)
    try:
        with redis.Redis(port=port, socket_timeout=10) as r:
            _write_all(r)
        proc.stop(signal.SIGKILL)  # at once, after the last reply
        assert proc.proc.returncode == -signal.SIGKILL
        proc = start_activekv("--appendfsync", "always", port=port, workdir=workdir)
        with redis.Redis(port=port, socket_timeout=10) as r:
            _check_all(r)
            assert "new epoch after an unclean stop" in proc.log()
    finally:
        proc.stop()


def test_kill9_while_a_client_is_writing_loses_no_acknowledged_write() -> None:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="akv-dur-")
    proc = start_activekv("--appendfsync", "always", port=port, workdir=workdir)
    acked: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        with redis.Redis(port=port, socket_timeout=5) as r:
            try:
                while not stop.is_set():
                    acked.append(int(r.incr("n")))
            except redis.RedisError:
                pass

    t = threading.Thread(target=writer)
    try:
        t.start()
        deadline = time.monotonic() + 10
        while len(acked) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.stop(signal.SIGKILL)
        stop.set()
        t.join(10)
        assert len(acked) >= 200
        proc = start_activekv("--appendfsync", "always", port=port, workdir=workdir)
        with redis.Redis(port=port, socket_timeout=10) as r:
            value = int(r.get("n") or 0)
        # every acknowledged INCR is there (one more may have been written, not acknowledged)
        assert acked[-1] <= value <= acked[-1] + 1
    finally:
        stop.set()
        t.join(10)
        proc.stop()


def test_acknowledged_writes_survive_kill9_in_a_cluster() -> None:
    with Cluster(3, appendfsync="always") as c:
        c.wait_linked()
        c.isolate(0)  # what region 0 has after the restart comes from its own disk only
        with c.client(0) as r:
            _write_all(r)
        c.kill9(0)
        c.start(0)
        with c.client(0) as r:
            _check_all(r)
        assert c.call(1, "GET", "counter") is None  # really isolated: nothing came from peers
        c.heal_all()
        c.wait_converged(timeout=15)
        for i in range(3):
            with c.client(i) as r:
                _check_all(r)


def _start_raw(workdir: str, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = [sys.executable, "-m", "server", "--port", str(port), "--dir", workdir,
            "--region", "test", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=15, env=env, cwd=workdir)


def test_corrupt_middle_record_refuses_to_start_then_truncate_corrupt_starts() -> None:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="akv-corrupt-")
    proc = start_activekv(port=port, workdir=workdir)
    with redis.Redis(port=port, socket_timeout=10) as r:
        for _ in range(20):
            r.incr("n")
    assert proc.stop() == 0
    (path,) = glob.glob(os.path.join(workdir, "oplog", "*.aol"))
    data = bytearray(open(path, "rb").read())
    offs, off = [], 0
    while off < len(data):
        offs.append(off)
        off += HEADER.size + HEADER.unpack_from(data, off)[2]
    bad = offs[11]  # batch 11 of 20 (offs[0] is the segment header)
    data[bad + HEADER.size + 2] ^= 0xFF
    with open(path, "wb") as f:
        f.write(data)

    res = _start_raw(workdir, port)
    assert res.returncode != 0
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr  # one clear line, no traceback
    assert path in lines[0] and f"offset {bad}" in lines[0] and "oplog-truncate-corrupt" in lines[0]
    assert os.path.getsize(path) == len(data)  # nothing was cut without being asked

    proc = start_activekv("--oplog-truncate-corrupt", "yes", port=port, workdir=workdir)
    try:
        with redis.Redis(port=port, socket_timeout=10) as r:
            assert r.get("n") == b"10"  # the batches before the bad record
            assert r.incr("n") == 11
        assert "cutting the log there" in proc.log()
    finally:
        proc.stop()


def test_clean_stop_keeps_origin_kill9_starts_a_new_epoch() -> None:
    with Cluster(2) as c:
        c.wait_linked()
        origin0 = _info(c.client(0))["origin"]
        assert origin0.startswith("us-west/")
        for _ in range(5):
            c.call(0, "INCR", "n")
        c.wait_converged(timeout=10)

        c.restart(0)  # SIGTERM: clean
        assert _info(c.client(0))["origin"] == origin0
        with c.client(0) as r:
            r.shutdown()  # redis-py expects the connection to drop
        proc = c.procs[0]
        assert isinstance(proc, ServerProcess)
        assert proc.proc.wait(10) == 0
        c.procs[0] = None
        c.start(0)
        assert _info(c.client(0))["origin"] == origin0  # SHUTDOWN is clean too

        for _ in range(5):
            c.call(0, "INCR", "n")
        c.kill9(0)
        c.start(0)
        origin1 = _info(c.client(0))["origin"]
        assert origin1 != origin0 and origin1.startswith("us-west/")
        for _ in range(7):
            c.call(0, "INCR", "n")
            c.call(1, "INCR", "n")
        c.wait_converged(timeout=15)
        assert [c.call(i, "GET", "n") for i in range(2)] == [b"24", b"24"]
        vv = _info(c.client(1))["vv"]
        # 10 INCRs, plus the observed-remove that precedes the first write creating the key
        # (Keyspace.emit); the new life starts at seq 1 of a new id.
        assert vv[origin0] == 11 and vv[origin1] == 7


def test_writes_lost_by_a_crashed_region_flow_back_from_peers() -> None:
    """G5 with everysec: a crash that loses the unsynced tail of the log (simulated by cutting
    it after kill -9) loses nothing the peers had received: it flows back, exactly once."""
    with Cluster(2) as c:
        c.wait_linked()
        for i in range(10):
            c.call(0, "INCR", "n")
            c.call(0, "SADD", "s", f"m{i}")
        c.wait_converged(timeout=10)
        c.kill9(0)
        (path,) = glob.glob(os.path.join(c.dirs[0], "oplog", "*.aol"))
        data = open(path, "rb").read()
        offs, off = [], 0
        while off < len(data):
            offs.append(off)
            off += HEADER.size + HEADER.unpack_from(data, off)[2]
        os.truncate(path, offs[11])  # keep the segment header and 10 of the 20 batches
        c.partition(0, 1)
        c.start(0)
        assert c.call(0, "GET", "n") == b"5"  # the tail is really gone locally
        c.call(0, "INCR", "n")  # a new life: a new origin id, no reused sequence numbers
        c.heal_all()
        c.wait_converged(timeout=15)
        assert [c.call(i, "GET", "n") for i in range(2)] == [b"11", b"11"]
        assert [c.call(i, "SCARD", "s") for i in range(2)] == [10, 10]
