"""CONFIG SET of the tls-* options against a real redis-server with TLS on: the same replies
(refusals included) and the same effect on new connections."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest

from server.harness.processes import free_port, start_activekv, start_redis
from tests.conftest import Differential
from tests.security.tlskit import Certs, make_certs, start_tls, tls_ping


@pytest.fixture(scope="module")
def certs() -> Certs:
    return make_certs()


@pytest.fixture
def pair(certs: Certs) -> Iterator[tuple[Differential, int, int]]:
    ref_tls = free_port()
    ref = start_redis(*certs.server_args(ref_tls))
    ours, our_tls = start_tls(certs)
    d = Differential(ref.port, ours.port, 2)
    try:
        yield d, ref_tls, our_tls
    finally:
        d.close()
        ref.stop()
        ours.stop()


def _refused(port: int, ctx: ssl.SSLContext) -> bool:
    try:
        return not tls_ping(port, ctx)
    except (ssl.SSLError, ConnectionError):
        return True


def test_bad_values_are_refused_and_nothing_changes(pair: tuple[Differential, int, int], certs: Certs) -> None:
    d, ref_tls, our_tls = pair
    for name, value in [("tls-cert-file", "/nonexistent.crt"), ("tls-key-file", "/nonexistent.key"),
                        ("tls-protocols", "SSLv3"), ("tls-ciphersuites", "BOGUS"),
                        ("tls-ciphers", "NOT-A-CIPHER"), ("tls-ca-cert-file", "/nonexistent-ca.crt"),
                        ("tls-auth-clients", "maybe"), ("tls-port", "70000")]:
        d.check("CONFIG", "SET", name, value)
        if name != "tls-port":  # (each listens on its own port)
            d.check("CONFIG", "GET", name)
    for port in (ref_tls, our_tls):
        assert tls_ping(port, certs.client_context()) == b"+PONG\r\n"


def test_auth_clients_and_port_apply_to_new_connections(pair: tuple[Differential, int, int], certs: Certs) -> None:
    d, ref_tls, our_tls = pair
    anonymous = ssl.create_default_context(cafile=certs.ca)
    for port in (ref_tls, our_tls):
        assert _refused(port, anonymous)
    d.check("CONFIG", "SET", "tls-auth-clients", "no")
    for port in (ref_tls, our_tls):
        assert tls_ping(port, anonymous) == b"+PONG\r\n"
    new_ref, new_ours = free_port(), free_port()
    assert d.ref.call("CONFIG", "SET", "tls-port", str(new_ref)) == d.ours.call("CONFIG", "SET", "tls-port", str(new_ours))
    for old, new in ((ref_tls, new_ref), (our_tls, new_ours)):
        assert tls_ping(new, anonymous) == b"+PONG\r\n"
        with pytest.raises(ConnectionRefusedError):
            tls_ping(old, anonymous)
    d.check("CONFIG", "SET", "tls-protocols", "TLSv1.3")
    d.check("CONFIG", "GET", "tls-protocols")
    only12 = ssl.create_default_context(cafile=certs.ca)
    only12.maximum_version = ssl.TLSVersion.TLSv1_2
    for port in (new_ref, new_ours):
        assert _refused(port, only12)
    d.check("CONFIG", "SET", "tls-port", "0")
    for port in (new_ref, new_ours):
        with pytest.raises(ConnectionRefusedError):
            tls_ping(port, anonymous)


def test_setting_files_while_tls_is_off_is_accepted_as_redis_does() -> None:
    with start_redis() as ref, start_activekv() as ours:
        d = Differential(ref.port, ours.port, 2)
        try:
            d.check("CONFIG", "SET", "tls-cert-file", "/nonexistent.crt")  # not used: accepted
            d.check("CONFIG", "GET", "tls-cert-file")
            d.check("CONFIG", "SET", "tls-port", str(free_port()))  # now it would be: refused
            d.check("CONFIG", "GET", "tls-port")
        finally:
            d.close()
