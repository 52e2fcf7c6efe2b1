"""Busy scripts, SCRIPT KILL, SHUTDOWN NOSAVE and redis-py's Lock, against activekv and a real
redis-server side by side (same steps, same replies). busy-reply-threshold is set low with
CONFIG SET so every wait here is bounded (a few hundred ms)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from server.harness.processes import ServerProcess, start_activekv, start_redis

redis = pytest.importorskip("redis")
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

LOOP = "local i = 0 while true do i = i + 1 end"
WRITE_THEN_LOOP = "redis.call('set', KEYS[1], 'partial') local i = 0 while true do i = i + 1 end"
THRESHOLD_MS = 150


@pytest.fixture(params=["redis", "activekv"])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    start = start_redis if request.param == "redis" else start_activekv
    with start() as proc:
        yield proc


def _client(port: int) -> Any:
    # No retries: a connection the server closed (SHUTDOWN) must fail at once.
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10,
                    retry=Retry(NoBackoff(), 0))
    r.ping()
    return r


class Background:
    """A script running on its own connection, in a thread; ``result`` once it returns."""

    def __init__(self, port: int, script: str, *keys: str) -> None:
        self.conn = _client(port)
        self.result: Any = None
        self.thread = threading.Thread(target=self._run, args=(script, keys), daemon=True)
        self.thread.start()

    def _run(self, script: str, keys: tuple[str, ...]) -> None:
        try:
            self.result = self.conn.eval(script, len(keys), *keys)
        except Exception as exc:  # the reply we assert on (an error) or a closed connection
            self.result = exc

    def join(self) -> Any:
        self.thread.join(10)
        assert not self.thread.is_alive(), "the script did not stop"
        return self.result


def _wait_busy(other: Any) -> str:
    """Poll until the server answers BUSY (bounded): that error's text."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            other.get("probe")
        except redis.exceptions.ResponseError as exc:
            return str(exc)
        except redis.exceptions.BusyLoadingError as exc:  # redis-py maps BUSY... to this
            return str(exc)
        time.sleep(0.02)
    raise AssertionError("the server never reported BUSY")


def test_busy_script_gets_busy_to_others_and_script_kill_stops_it(server: ServerProcess) -> None:
    admin = _client(server.port)
    other = _client(server.port)
    admin.config_set("busy-reply-threshold", THRESHOLD_MS)
    assert admin.config_get("lua-time-limit") == {"lua-time-limit": str(THRESHOLD_MS)}
    with pytest.raises(redis.exceptions.ResponseError, match="^NOTBUSY No scripts in execution right now.$"):
        admin.script_kill()
    script = Background(server.port, LOOP)
    started = time.monotonic()
    busy = _wait_busy(other)
    assert time.monotonic() - started >= THRESHOLD_MS / 1000 * 0.9
    assert "Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE." in busy
    assert other.execute_command("SCRIPT", "KILL") in (b"OK", True)
    result = script.join()
    sha = admin.script_load(LOOP)
    assert isinstance(result, redis.exceptions.ResponseError)
    assert str(result) == f"Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:1."
    assert other.ping() is True
    with pytest.raises(redis.exceptions.ResponseError, match="^NOTBUSY No scripts in execution right now.$"):
        admin.script_kill()


def test_pcall_cannot_swallow_script_kill(server: ServerProcess) -> None:
    admin = _client(server.port)
    admin.config_set("busy-reply-threshold", THRESHOLD_MS)
    script = Background(server.port, "while true do pcall(function() local i = 0 while true do i = i + 1 end end) end")
    _wait_busy(admin)
    assert admin.execute_command("SCRIPT", "KILL") in (b"OK", True)
    assert isinstance(script.join(), redis.exceptions.ResponseError)
    assert admin.ping() is True


def test_transaction_queued_during_busy_script_is_aborted(server: ServerProcess) -> None:
    admin = _client(server.port)
    admin.config_set("busy-reply-threshold", THRESHOLD_MS)
    tx = _client(server.port)
    script = Background(server.port, LOOP)
    _wait_busy(admin)
    assert tx.execute_command("MULTI") in (b"OK", True)  # MULTI is allowed while busy
    with pytest.raises(redis.exceptions.ResponseError, match="BUSY|Redis is busy"):
        tx.execute_command("SET", "k", "v")
    admin.execute_command("SCRIPT", "KILL")
    script.join()
    with pytest.raises(redis.exceptions.ResponseError, match="^Transaction discarded because of previous errors.$"):
        tx.execute_command("EXEC")
    assert admin.get("k") is None


def test_script_that_wrote_is_unkillable_and_shutdown_nosave_stops_the_server(server: ServerProcess) -> None:
    admin = _client(server.port)
    admin.config_set("busy-reply-threshold", THRESHOLD_MS)
    script = Background(server.port, WRITE_THEN_LOOP, "k")
    _wait_busy(admin)
    with pytest.raises(redis.exceptions.ResponseError) as killed:
        admin.execute_command("SCRIPT", "KILL")
    assert str(killed.value) == (
        "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either "
        "wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
    with pytest.raises(redis.exceptions.ResponseError, match="Redis is busy running a script"):
        admin.execute_command("SHUTDOWN")  # SHUTDOWN without NOSAVE is refused while busy
    try:
        admin.execute_command("SHUTDOWN", "NOSAVE")
    except redis.exceptions.ConnectionError:
        pass  # the server closes the connection as it exits
    assert server.proc.wait(10) is not None
    assert isinstance(script.join(), redis.exceptions.ConnectionError)


def test_restart_after_shutdown_nosave_has_no_partial_script_writes() -> None:
    with start_activekv() as first:
        admin = _client(first.port)
        admin.set("before", "1")
        admin.config_set("busy-reply-threshold", THRESHOLD_MS)
        script = Background(first.port, WRITE_THEN_LOOP, "k")
        _wait_busy(admin)
        try:
            admin.execute_command("SHUTDOWN", "NOSAVE")
        except redis.exceptions.ConnectionError:
            pass
        first.proc.wait(10)
        script.join()
        workdir = first.workdir
    with start_activekv(workdir=workdir) as second:
        again = _client(second.port)
        assert again.get("before") == b"1"
        assert again.get("k") is None


def test_redis_py_lock_acquire_extend_release(server: ServerProcess) -> None:
    r = _client(server.port)
    other = _client(server.port)
    lock = r.lock("resource", timeout=5)
    assert lock.acquire(blocking=False)
    assert not other.lock("resource", timeout=5).acquire(blocking=False)
    assert lock.owned() and lock.locked()
    assert lock.extend(10)
    assert 5000 < r.pttl("resource") <= 15000
    assert lock.reacquire()  # back to the lock's own timeout
    assert 4000 < r.pttl("resource") <= 5000
    lock.release()
    assert not lock.locked()
    with pytest.raises(redis.exceptions.LockError):
        lock.release()
    second = other.lock("resource", timeout=5)
    assert second.acquire(blocking=False)
    r.set("resource", "someone else")  # the token changed: extend/release must refuse
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        second.extend(5)
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        second.release()
