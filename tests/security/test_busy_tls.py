"""TLS clients that connect while a script is busy (server/scripting/busy_tls.py), with a real
activekv process: the handshake completes during the script, the client gets -BUSY and can
SCRIPT KILL, and afterwards the same TLS connection is an ordinary one (large replies and
HELLO 3 included); the client-certificate rule still applies."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess
from tests.integration.test_scripting_busy import (
    LOOP,
    THRESHOLD_MS,
    Background,
    _client,
    _wait_busy,
)
from tests.security.tlskit import Certs, make_certs, start_tls

redis = pytest.importorskip("redis")
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

BUSY = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."


@pytest.fixture(scope="module")
def certs() -> Certs:
    return make_certs()


@pytest.fixture(scope="module")
def tls_server(certs: Certs) -> Iterator[tuple[ServerProcess, int]]:
    proc, tls_port = start_tls(certs)
    yield proc, tls_port
    proc.stop()


def _tls_client(certs: Certs, port: int, **kwargs: object) -> object:
    return redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=certs.ca,
                       ssl_certfile=certs.cert, ssl_keyfile=certs.key, socket_timeout=10,
                       retry=Retry(NoBackoff(), 0), single_connection_client=True, **kwargs)


def test_tls_connection_made_during_a_busy_script(certs: Certs, tls_server: tuple[ServerProcess, int]) -> None:
    proc, tls_port = tls_server
    admin = _client(proc.port)
    admin.config_set("busy-reply-threshold", THRESHOLD_MS)
    admin.set("big", "x" * 300_000)
    bg = Background(proc.port, LOOP)
    _wait_busy(admin)
    new = _tls_client(certs, tls_port)
    with pytest.raises(redis.exceptions.ResponseError, match="^" + BUSY.replace(".", r"\.") + "$"):
        new.get("k")  # type: ignore[attr-defined]
    sock = new.connection._sock  # type: ignore[attr-defined]
    assert new.execute_command("SCRIPT", "KILL") in (b"OK", True)  # type: ignore[attr-defined]
    result = bg.join()
    assert str(result).startswith("Script killed by user with SCRIPT KILL...")
    assert new.set("k", "v") is True and new.get("k") == b"v"  # type: ignore[attr-defined]
    assert new.get("big") == b"x" * 300_000  # type: ignore[attr-defined]
    assert new.connection._sock is sock  # type: ignore[attr-defined]
    new.close()  # type: ignore[attr-defined]
    bg.conn.close()
    admin.close()


def test_resp3_and_client_certificate_rule_during_a_busy_script(
        certs: Certs, tls_server: tuple[ServerProcess, int]) -> None:
    proc, tls_port = tls_server
    admin = _client(proc.port)
    admin.config_set("busy-reply-threshold", THRESHOLD_MS)
    bg = Background(proc.port, LOOP)
    _wait_busy(admin)
    no_cert = redis.Redis(host="127.0.0.1", port=tls_port, ssl=True, ssl_ca_certs=certs.ca,
                          socket_timeout=10, retry=Retry(NoBackoff(), 0))
    with pytest.raises((ssl.SSLError, redis.exceptions.ConnectionError)):
        no_cert.ping()
    resp3 = _tls_client(certs, tls_port, protocol=3)
    with pytest.raises(redis.exceptions.ResponseError, match="^BUSY "):
        resp3.get("k")  # type: ignore[attr-defined]
    assert resp3.execute_command("SCRIPT", "KILL") in (b"OK", True)  # type: ignore[attr-defined]
    bg.join()
    assert resp3.hgetall("nohash") == {}  # type: ignore[attr-defined]
    assert resp3.execute_command("HELLO")[b"proto"] == 3  # type: ignore[attr-defined]
    resp3.close()  # type: ignore[attr-defined]
    bg.conn.close()
    admin.close()


def test_maxclients_error_reaches_a_tls_client_during_a_busy_script(
        certs: Certs, tls_server: tuple[ServerProcess, int]) -> None:
    """The refusal is written before the TLS handshake has completed: it goes out once it has."""
    proc, tls_port = tls_server
    admin = _client(proc.port)
    admin.config_set("busy-reply-threshold", THRESHOLD_MS)
    killer = _client(proc.port)
    admin.config_set("maxclients", len(admin.client_list()) + 1)  # + the script's connection
    bg = Background(proc.port, LOOP)
    try:
        _wait_busy(admin)
        with pytest.raises(redis.exceptions.ConnectionError, match="max number of clients reached"):
            _tls_client(certs, tls_port).ping()  # type: ignore[attr-defined]
    finally:
        assert killer.execute_command("SCRIPT", "KILL") in (b"OK", True)
        bg.join()
        admin.config_set("maxclients", 10000)
        for conn in (bg.conn, killer, admin):
            conn.close()
