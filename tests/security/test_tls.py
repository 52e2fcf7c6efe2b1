"""TLS on client connections: real certificates (trustme), a real activekv-server, and the
clients users have: redis-py ``ssl=True``, redis-cli ``--tls`` and redis-benchmark ``--tls``."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
from collections.abc import Iterator

import pytest
import redis
import trustme

from server.harness.processes import ServerProcess, free_port, start_activekv
from tests.security.tlskit import Certs, make_certs, start_tls, tls_ping, wait_tls


@pytest.fixture(scope="module")
def certs() -> Certs:
    return make_certs()


@pytest.fixture(scope="module")
def tls_server(certs: Certs) -> Iterator[tuple[ServerProcess, int]]:
    proc, tls_port = start_tls(certs)
    yield proc, tls_port
    proc.stop()


def _cli(certs: Certs, port: int, *args: str, cert: bool = True) -> subprocess.CompletedProcess[bytes]:
    argv = ["redis-cli", "-p", str(port), "--tls", "--cacert", certs.ca]
    if cert:
        argv += ["--cert", certs.cert, "--key", certs.key]
    return subprocess.run([*argv, *args], capture_output=True, timeout=20)


def test_redis_py_over_tls_resp2_and_resp3(certs: Certs, tls_server: tuple[ServerProcess, int]) -> None:
    _, port = tls_server
    for protocol in (2, 3):
        r = redis.Redis(port=port, ssl=True, ssl_ca_certs=certs.ca, ssl_certfile=certs.cert,
                        ssl_keyfile=certs.key, protocol=protocol, decode_responses=True)
        try:
            assert r.set(f"k{protocol}", "v") is True
            assert r.incrby("n", 2) in (2, 4)
            assert r.get(f"k{protocol}") == "v"
            pipe = r.pipeline()
            for i in range(200):
                pipe.rpush("list", i)
            pipe.lrange("list", 0, -1)
            assert len(pipe.execute()[-1]) >= 200
        finally:
            r.close()


def test_plain_and_tls_ports_serve_the_same_keyspace(certs: Certs, tls_server: tuple[ServerProcess, int]) -> None:
    proc, port = tls_server
    plain = redis.Redis(port=proc.port, decode_responses=True)
    try:
        plain.set("shared", "from-plain")
        assert _cli(certs, port, "GET", "shared").stdout == b"from-plain\n"
    finally:
        plain.close()


def test_redis_cli_tls(certs: Certs, tls_server: tuple[ServerProcess, int]) -> None:
    _, port = tls_server
    assert b"--tls" in subprocess.run(["redis-cli", "--help"], capture_output=True).stdout + \
        subprocess.run(["redis-cli", "--help"], capture_output=True).stderr
    assert _cli(certs, port, "SET", "cli", "over tls").stdout == b"OK\n"
    assert _cli(certs, port, "GET", "cli").stdout == b"over tls\n"
    info = _cli(certs, port, "CONFIG", "GET", "tls-port").stdout.split()
    assert info == [b"tls-port", str(port).encode()]


def test_redis_benchmark_tls(certs: Certs, tls_server: tuple[ServerProcess, int]) -> None:
    _, port = tls_server
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "--tls", "--cacert", certs.ca, "--cert", certs.cert,
         "--key", certs.key, "-n", "500", "-c", "4", "-t", "set,get", "-q"],
        capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert "SET:" in text and "GET:" in text and "requests per second" in text


def test_client_certificate_is_required_by_default(certs: Certs, tls_server: tuple[ServerProcess, int]) -> None:
    """tls-auth-clients yes (Redis's default): a client without a certificate gets nothing."""
    _, port = tls_server
    ctx = ssl.create_default_context(cafile=certs.ca)  # no client certificate
    with pytest.raises((ssl.SSLError, ConnectionError)):
        reply = tls_ping(port, ctx)
        if not reply:  # TLS 1.3: the refusal can arrive as a closed connection
            raise ConnectionResetError("closed")
    assert _cli(certs, port, "PING", cert=False).stdout != b"PONG\n"


def test_client_certificate_from_another_ca_is_refused(certs: Certs, tls_server: tuple[ServerProcess, int]) -> None:
    _, port = tls_server
    other = make_certs("other")
    ctx = ssl.create_default_context(cafile=certs.ca)
    ctx.load_cert_chain(other.cert, other.key)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        if not tls_ping(port, ctx):
            raise ConnectionResetError("closed")


def test_tls_auth_clients_optional_and_no(certs: Certs) -> None:
    for mode in ("optional", "no"):
        proc, port = start_tls(certs, "--tls-auth-clients", mode)
        try:
            assert tls_ping(port, ssl.create_default_context(cafile=certs.ca)) == b"+PONG\r\n"
            if mode == "optional":  # a certificate, when given, must still verify
                other = make_certs("other")
                ctx = ssl.create_default_context(cafile=certs.ca)
                ctx.load_cert_chain(other.cert, other.key)
                with pytest.raises((ssl.SSLError, ConnectionError)):
                    if not tls_ping(port, ctx):
                        raise ConnectionResetError("closed")
        finally:
            proc.stop()


def test_port_zero_disables_plain_tcp(certs: Certs) -> None:
    proc, port = start_tls(certs, plain=False)
    try:
        assert tls_ping(port, certs.client_context()) == b"+PONG\r\n"
        r = redis.Redis(port=port, ssl=True, ssl_ca_certs=certs.ca, ssl_certfile=certs.cert,
                        ssl_keyfile=certs.key)
        try:
            assert r.config_get("port") == {"port": "0"}  # redis-py decodes CONFIG GET
        finally:
            r.close()
        assert "port 0 tls-port" in proc.log()
    finally:
        proc.stop()


def test_protocols_and_ciphers(certs: Certs) -> None:
    proc, port = start_tls(certs, "--tls-protocols", "TLSv1.3", "--tls-ciphersuites",
                           "TLS_CHACHA20_POLY1305_SHA256", "--tls-prefer-server-ciphers", "yes",
                           "--tls-session-caching", "no")
    try:
        ctx = certs.client_context()
        with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                assert s.version() == "TLSv1.3"
                cipher = s.cipher()
                assert cipher is not None and cipher[0] == "TLS_CHACHA20_POLY1305_SHA256"
        ctx12 = certs.client_context()
        ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises((ssl.SSLError, ConnectionError)):
            tls_ping(port, ctx12)
    finally:
        proc.stop()
    proc, port = start_tls(certs, "--tls-protocols", "TLSv1.2", "--tls-ciphers", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
            with certs.client_context().wrap_socket(raw, server_hostname="127.0.0.1") as s:
                assert s.version() == "TLSv1.2"
                cipher = s.cipher()
                assert cipher is not None and cipher[0].endswith("AES128-GCM-SHA256")
    finally:
        proc.stop()


@pytest.mark.parametrize(("args", "message"), [
    (["--tls-port", "{port}"], "No tls-cert-file configured!"),
    (["--tls-port", "{port}", "--tls-cert-file", "{cert}", "--tls-key-file", "{key}"],
     "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, "
     "tls-replication or tls-auth-clients are enabled!"),
    (["--tls-port", "{port}", "--tls-cert-file", "{cert}", "--tls-key-file", "{key}",
      "--tls-ca-cert-file", "{ca}", "--tls-protocols", "SSLv3"],
     "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."),
    (["--tls-port", "{port}", "--tls-cert-file", "/nonexistent.crt", "--tls-key-file", "{key}",
      "--tls-ca-cert-file", "{ca}"], "/nonexistent.crt: No such file or directory"),
    (["--tls-port", "{port}", "--tls-cert-file", "{cert}", "--tls-key-file", "{key}",
      "--tls-ca-cert-file", "{ca}", "--tls-ciphersuites", "NOT_A_SUITE"],
     "Failed to configure ciphersuites: NOT_A_SUITE"),
    (["--tls-auth-clients", "maybe"], "argument(s) must be one of the following: no, yes, optional"),
])
def test_bad_tls_configuration_exits_with_one_line(certs: Certs, args: list[str], message: str,
                                                   tmp_path: object) -> None:
    fmt = {"port": str(free_port()), "cert": certs.cert, "key": certs.key, "ca": certs.ca}
    argv = [a.format(**fmt) for a in args]
    out = subprocess.run([*_server_cmd(str(tmp_path)), *argv], capture_output=True, timeout=30)
    assert out.returncode == 1
    err = out.stderr.decode().strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in out.stdout.decode()


def _server_cmd(workdir: str) -> list[str]:
    from server.harness.processes import activekv_argv

    return activekv_argv(free_port(), workdir, "--region", "t")


def test_start_activekv_plain_only_has_no_tls_port() -> None:
    with start_activekv() as proc:
        r = redis.Redis(port=proc.port, decode_responses=True)
        try:
            assert r.config_get("tls-port") == {"tls-port": "0"}
            assert r.config_get("tls-auth-clients") == {"tls-auth-clients": "yes"}
        finally:
            r.close()


def test_relative_certificate_paths_are_from_where_the_server_started(certs: Certs, tmp_path: object) -> None:
    """The server changes to --dir before it loads the certificates: relative paths are taken
    from the directory it was started in (the README's setup relies on it)."""
    workdir = str(tmp_path)
    tls_port = free_port()
    rel = {k: os.path.basename(getattr(certs, k)) for k in ("cert", "key", "ca")}
    argv = _server_cmd(os.path.join(workdir, "data")) + [
        "--tls-port", str(tls_port), "--tls-cert-file", rel["cert"], "--tls-key-file", rel["key"],
        "--tls-ca-cert-file", rel["ca"]]
    os.makedirs(os.path.join(workdir, "data"))
    proc = subprocess.Popen(argv, cwd=certs.dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_tls(tls_port, certs.client_context())(proc)
        assert tls_ping(tls_port, certs.client_context()) == b"+PONG\r\n"
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()


def test_dh_params_file_enables_dhe_ciphers(tmp_path: object) -> None:
    rsa = make_certs("rsa", key_type=trustme.KeyType.RSA)  # DHE-RSA needs an RSA certificate
    dh = os.path.join(str(tmp_path), "dh.pem")  # RFC 7919's ffdhe2048: a named group, no search
    subprocess.run(["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt",
                    "group:ffdhe2048", "-out", dh], check=True, capture_output=True)
    proc, port = start_tls(rsa, "--tls-protocols", "TLSv1.2", "--tls-ciphers",
                           "DHE-RSA-AES128-GCM-SHA256", "--tls-dh-params-file", dh)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
            with rsa.client_context().wrap_socket(raw, server_hostname="127.0.0.1") as s:
                cipher = s.cipher()
                assert cipher is not None and cipher[0] == "DHE-RSA-AES128-GCM-SHA256"
    finally:
        proc.stop()
    out = subprocess.run([*_server_cmd(str(tmp_path)), *rsa.server_args(free_port()),
                          "--tls-dh-params-file", "/nonexistent.pem"], capture_output=True, timeout=30)
    assert out.returncode == 1
    assert out.stderr.decode().strip() == ("activekv-server: Failed to configure TLS: Failed to load "
                                           "DH params file: /nonexistent.pem: No such file or directory")
