"""Real clients against a real activekv-server: redis-py (sync and asyncio), redis-cli
(scripted and interactive on a pseudo-terminal) and redis-benchmark."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import subprocess
import time

import pytest
import redis
import redis.asyncio

from server.harness.processes import ServerProcess


@pytest.fixture
def r(activekv: ServerProcess) -> redis.Redis:
    client = redis.Redis(port=activekv.port, decode_responses=True)
    client.flushall()
    yield client
    client.close()


def test_redis_py_sync_roundtrip(r: redis.Redis) -> None:
    assert r.set("k", "v") is True
    assert r.get("k") == "v"
    assert r.incrby("n", 5) == 5
    assert r.incrbyfloat("n", 0.25) == 5.25
    assert r.mget("k", "n", "missing") == ["v", "5.25", None]
    assert r.expire("k", 100) is True
    assert 99 <= r.ttl("k") <= 100
    pipe = r.pipeline()
    for i in range(100):
        pipe.set(f"p{i}", i)
    pipe.get("p99")
    assert pipe.execute()[-1] == "99"
    assert r.dbsize() == 102
    assert set(r.scan_iter(match="p1*")) == {"p1"} | {f"p1{i}" for i in range(10)}


def test_redis_py_transaction_with_watch(r: redis.Redis) -> None:
    r.set("balance", 10)
    with r.pipeline() as pipe:
        pipe.watch("balance")
        current = int(pipe.get("balance"))
        pipe.multi()
        pipe.set("balance", current - 3)
        pipe.incr("ops")
        assert pipe.execute() == [True, 1]
    assert r.get("balance") == "7"


def test_redis_py_resp3(activekv: ServerProcess) -> None:
    client = redis.Redis(port=activekv.port, protocol=3, decode_responses=True)
    try:
        client.set("x", "1")
        assert client.get("x") == "1"
        client.hset("h", mapping={"a": "1", "b": "2"})
        assert client.hgetall("h") == {"a": "1", "b": "2"}
        assert client.execute_command("HELLO", "3")["proto"] == 3
    finally:
        client.close()


def test_redis_py_asyncio(activekv: ServerProcess) -> None:
    async def main() -> list[int]:
        client = redis.asyncio.Redis(port=activekv.port, max_connections=250)
        try:
            await client.delete("ac")
            results = await asyncio.gather(*(client.incr("ac") for _ in range(200)))
            assert int(await client.get("ac")) == 200
            return sorted(results)
        finally:
            await client.aclose()

    assert asyncio.run(main()) == list(range(1, 201))


def test_redis_cli_scripted(activekv: ServerProcess) -> None:
    script = "SET cli-key hello\nGET cli-key\nINCR cli-n\nDEL cli-key\nGET cli-key\n"
    out = subprocess.run(
        ["redis-cli", "-p", str(activekv.port)], input=script, capture_output=True,
        text=True, timeout=20, check=True,
    ).stdout
    assert out.splitlines() == ["OK", "hello", "1", "1", ""]


def _read_until(fd: int, marker: bytes, timeout: float = 10.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


def test_redis_cli_interactive(activekv: ServerProcess) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # child: redis-cli on a terminal, as a person runs it
        os.environ["TERM"] = "dumb"  # linenoise's plain line mode: no cursor-position queries
        os.execvp("redis-cli", ["redis-cli", "-p", str(activekv.port)])
    try:
        prompt = f"127.0.0.1:{activekv.port}>".encode()
        assert prompt in _read_until(fd, prompt)
        os.write(fd, b"SET tty-key interactive\r")
        assert b"OK" in _read_until(fd, b"OK")
        os.write(fd, b"GET tty-key\r")
        assert b'"interactive"' in _read_until(fd, b'"interactive"')
        os.write(fd, b"NOSUCHCOMMAND\r")
        assert b"unknown command" in _read_until(fd, b"unknown command")
        os.write(fd, b"quit\r")
        _read_until(fd, b"\x00", timeout=2)
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)


def test_redis_benchmark_runs_clean(activekv: ServerProcess) -> None:
    proc = subprocess.run(
        ["redis-benchmark", "-p", str(activekv.port), "-t", "set,get,incr,sadd,hset",
         "-n", "2000", "-c", "10", "-q"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.replace("\r", "\n").splitlines() if "requests per second" in line]
    names = {line.split(":")[0] for line in lines}
    assert {"SET", "GET", "INCR", "SADD", "HSET"} <= names, proc.stdout
    assert "ERR" not in proc.stdout and "error" not in proc.stderr.lower()
