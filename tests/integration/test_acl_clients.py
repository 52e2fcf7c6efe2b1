"""ACL users through real clients: redis-py (username/password, NoPermissionError, the ACL
helpers) and redis-cli (--user/--pass, RESP3) against an activekv-server process whose users
come from ``--user`` lines on its command line."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from server.harness.processes import ServerProcess, start_activekv


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with start_activekv("--requirepass", "adminpw",
                        "--user", "app", "on", ">apw", "~app:*", "+@read", "+@write", "-@dangerous", "+acl|whoami",
                        "--user", "reader", "on", ">rpw", "%R~*", "+@read") as proc:
        yield proc


def client(server: ServerProcess, **kw: object) -> redis.Redis:
    # No retries: a refused AUTH is the answer, not a network problem to retry with backoff.
    return redis.Redis(port=server.port, socket_timeout=10, retry=Retry(NoBackoff(), 0),
                       **kw)  # type: ignore[arg-type]


def test_redis_py_users(server: ServerProcess) -> None:
    app = client(server, username="app", password="apw")
    assert app.acl_whoami() == "app"
    assert app.set("app:1", "v") is True
    assert app.get("app:1") == b"v"
    with pytest.raises(redis.exceptions.NoPermissionError, match="one of the keys"):
        app.get("other")
    with pytest.raises(redis.exceptions.NoPermissionError, match="'flushall' command"):
        app.flushall()
    reader = client(server, username="reader", password="rpw")
    assert reader.get("app:1") == b"v"
    with pytest.raises(redis.exceptions.NoPermissionError):
        reader.set("app:1", "w")
    with pytest.raises(redis.exceptions.AuthenticationError):
        client(server, username="app", password="wrong").ping()
    app.close()
    reader.close()


def test_redis_py_acl_helpers(server: ServerProcess) -> None:
    admin = client(server, password="adminpw")
    assert admin.acl_whoami() == "default"
    assert admin.acl_setuser("tmp", enabled=True, passwords=["+tpw"], commands=["+get"], keys=["t:*"])
    info = admin.acl_getuser("tmp")
    assert info["flags"] == ["on"]
    assert info["keys"] == ["~t:*"]
    assert sorted(admin.acl_users()) == ["app", "default", "reader", "tmp"]
    assert any(line.startswith("user tmp on #") for line in admin.acl_list())
    assert admin.acl_dryrun("tmp", "get", "t:1") == b"OK"
    assert b"no permissions" in admin.acl_dryrun("tmp", "set", "t:1", "v")
    admin.acl_log_reset()
    with pytest.raises(redis.exceptions.NoPermissionError):
        client(server, username="tmp", password="tpw").set("t:1", "v")
    log = admin.acl_log()
    assert log[0]["reason"] == "command" and log[0]["object"] == "set" and log[0]["username"] == "tmp"
    assert "default" not in admin.acl_cat() and "read" in admin.acl_cat()
    assert admin.acl_deluser("tmp") == 1
    admin.close()


def _cli(server: ServerProcess, *args: str) -> str:
    exe = shutil.which("redis-cli")
    assert exe is not None
    proc = subprocess.run([exe, "-p", str(server.port), "--no-auth-warning", *args],
                          capture_output=True, text=True, timeout=20)
    return (proc.stdout + proc.stderr).strip()


def test_redis_cli_users(server: ServerProcess) -> None:
    assert _cli(server, "--user", "app", "--pass", "apw", "ACL", "WHOAMI") == "app"
    assert _cli(server, "-3", "--user", "app", "--pass", "apw", "SET", "app:cli", "1") == "OK"
    assert _cli(server, "--user", "app", "--pass", "apw", "DEL", "other").startswith("NOPERM")
    refused = _cli(server, "--user", "app", "--pass", "nope", "PING")
    assert "WRONGPASS" in refused and "NOAUTH" in refused
    assert _cli(server, "-a", "adminpw", "ACL", "USERS").split() == ["app", "default", "reader"]
    listing = _cli(server, "-a", "adminpw", "CLIENT", "LIST")
    assert "user=default" in listing
