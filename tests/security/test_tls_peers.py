"""Peer links over TLS (``--tls-replication yes``): two real regions replicate through their
TLS ports; a peer whose certificate is not signed by our CA is refused with one log line and
retried."""

from __future__ import annotations

import time

import redis

from server.harness.processes import ServerProcess, free_port, start_activekv
from server.harness.regions import peer_field
from server.harness.waiting import wait_for as _wait
from tests.security.tlskit import Certs, make_certs


def _region(name: str, certs: Certs, tls_port: int, peer_tls_port: int, *extra: str) -> ServerProcess:
    return start_activekv("--region", name, *certs.server_args(tls_port), "--tls-replication", "yes",
                          "--peer", f"127.0.0.1:{peer_tls_port}", *extra)


def _peer_state(r: redis.Redis) -> bytes | None:
    rows = r.execute_command("CRDT.PEERS")
    return peer_field(rows[0], b"state") if rows else None


def test_two_regions_replicate_over_tls() -> None:
    certs = make_certs()
    pa, pb = free_port(), free_port()
    a = _region("tls-a", certs, pa, pb)
    b = _region("tls-b", certs, pb, pa)
    ra, rb = redis.Redis(port=a.port), redis.Redis(port=b.port)
    try:
        ra.set("k", "from-a")
        rb.incrby("n", 3)
        ra.incrby("n", 4)
        _wait(lambda: rb.get("k") == b"from-a" and ra.get("n") == rb.get("n") == b"7", 15,
              "replication over TLS")
        assert ra.execute_command("CRDT.DIGEST") == rb.execute_command("CRDT.DIGEST")
        assert "peer link to tls-b (127.0.0.1:%d) up" % pb in a.log()
        assert "TLS:" not in a.log() + b.log()
    finally:
        ra.close()
        rb.close()
        a.stop()
        b.stop()


def test_peer_signed_by_another_ca_is_refused_with_one_log_line_and_retried() -> None:
    ours, theirs = make_certs("ours"), make_certs("theirs")
    pa, pb = free_port(), free_port()
    a = _region("ca-a", ours, pa, pb)
    b = _region("ca-b", theirs, pb, pa)
    ra, rb = redis.Redis(port=a.port), redis.Redis(port=b.port)
    try:
        ra.set("k", "v")
        refusal = "peer link to 127.0.0.1:%d: TLS: refused the peer's certificate: "
        _wait(lambda: refusal % pb in a.log() and refusal % pa in b.log(), 15, "the refusal log lines")
        time.sleep(2.5)  # several retries at the 2 s backoff (jittered 0.5x-1.5x)
        assert a.log().count(refusal % pb) == 1 and b.log().count(refusal % pa) == 1
        assert rb.get("k") is None  # nothing crossed the refused link
        assert _peer_state(ra) != b"up" and _peer_state(rb) != b"up"
    finally:
        ra.close()
        rb.close()
        a.stop()
        b.stop()


def test_self_signed_peer_is_refused_then_a_good_certificate_links() -> None:
    """A region with a self-signed certificate is refused; once it restarts with a certificate
    from the CA, the retrying link comes up by itself."""
    import trustme

    ca = trustme.CA()
    good = make_certs("good", ca)
    # a self-signed certificate: a root that signed itself, presented as the server's own
    leafless = make_certs("self")
    self_signed = trustme.CA()
    self_signed.cert_pem.write_to_path(leafless.cert)
    self_signed.private_key_pem.write_to_path(leafless.key)
    pa, pb = free_port(), free_port()
    a = _region("ss-a", good, pa, pb)
    b = start_activekv("--region", "ss-b", "--tls-port", str(pb), "--tls-cert-file", leafless.cert,
                       "--tls-key-file", leafless.key, "--tls-ca-cert-file", good.ca,
                       "--tls-auth-clients", "no")
    ra = redis.Redis(port=a.port)
    try:
        line = "peer link to 127.0.0.1:%d: TLS: refused the peer's certificate: self-signed certificate" % pb
        _wait(lambda: line in a.log(), 15, "the self-signed refusal")
        b.stop()
        b = _region("ss-b", good, pb, pa, "--dir", b.workdir)
        rb = redis.Redis(port=b.port)
        try:
            rb.set("after", "fixed")
            _wait(lambda: ra.get("after") == b"fixed", 15, "the link after the certificate was fixed")
            assert a.log().count(line) == 1
        finally:
            rb.close()
    finally:
        ra.close()
        a.stop()
        b.stop()
