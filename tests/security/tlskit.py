"""Certificates (trustme) and TLS server processes for the TLS tests."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass

import trustme

from server.harness.processes import ServerProcess, free_port, start_activekv


@dataclass
class Certs:
    """A CA and one certificate (for 127.0.0.1 and localhost) it signed, as PEM files."""

    dir: str
    ca: str
    cert: str
    key: str

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def server_args(self, tls_port: int) -> list[str]:
        return ["--tls-port", str(tls_port), "--tls-cert-file", self.cert,
                "--tls-key-file", self.key, "--tls-ca-cert-file", self.ca]


def make_certs(name: str = "ca", ca: trustme.CA | None = None, directory: str | None = None,
               key_type: trustme.KeyType = trustme.KeyType.ECDSA) -> Certs:
    ca = ca or trustme.CA(key_type=key_type)
    d = directory or tempfile.mkdtemp(prefix=f"activekv-tls-{name}-")
    leaf = ca.issue_cert("127.0.0.1", "localhost", key_type=key_type)
    paths = Certs(d, os.path.join(d, f"{name}-ca.crt"), os.path.join(d, f"{name}.crt"),
                  os.path.join(d, f"{name}.key"))
    ca.cert_pem.write_to_path(paths.ca)
    leaf.cert_chain_pems[0].write_to_path(paths.cert)
    leaf.private_key_pem.write_to_path(paths.key)
    return paths


def tls_ping(port: int, ctx: ssl.SSLContext, timeout: float = 2.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64)


def wait_tls(port: int, ctx: ssl.SSLContext, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    def ready(proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if tls_ping(port, ctx, 0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"TLS port {port} did not answer within {timeout}s")
    return ready


def start_tls(certs: Certs, *args: str, plain: bool = True) -> tuple[ServerProcess, int]:
    """An activekv with a TLS port (and a plain one unless ``plain`` is False)."""
    tls_port = free_port()
    argv = [*certs.server_args(tls_port), *args]
    if plain:
        return start_activekv(*argv), tls_port
    return start_activekv(*argv, "--port", "0", ready=wait_tls(tls_port, certs.client_context())), tls_port
