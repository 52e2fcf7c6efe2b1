"""``make run TLS=1``: server/localrun.py --tls makes a CA and a certificate with openssl and
starts three regions with TLS on their client ports and their peer links."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redis

from server.harness.processes import ROOT


def _free_run(n: int) -> int:
    """A base port with ``n`` consecutive free ports after it (checked just before use)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n > 65535:
            continue
        try:
            socks = []
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no run of free ports")


def test_make_run_tls_starts_three_peered_tls_regions() -> None:
    data = tempfile.mkdtemp(prefix="activekv-localrun-tls-")
    base = _free_run(3)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "server.localrun", "--base-port", str(base),
                             "--data", data, "--tls"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, cwd=str(ROOT))
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline().decode()
            assert line, "".join(lines)
            lines.append(line)
            if line.startswith("All regions are peered"):
                break
        assert "--tls --cacert" in lines[0]
        tls = os.path.join(data, "tls")
        kw = {"ssl": True, "ssl_ca_certs": os.path.join(tls, "ca.crt"),
              "ssl_certfile": os.path.join(tls, "server.crt"), "ssl_keyfile": os.path.join(tls, "server.key")}
        west, east = redis.Redis(port=base, **kw), redis.Redis(port=base + 2, **kw)  # type: ignore[arg-type]
        try:
            west.set("greeting", "hello over tls")
            deadline = time.monotonic() + 15
            while east.get("greeting") != b"hello over tls":
                assert time.monotonic() < deadline, "no replication over the TLS peer links"
                time.sleep(0.05)
            assert west.config_get("tls-replication") == {"tls-replication": "yes"}
            assert west.config_get("port") == {"port": "0"}
        finally:
            west.close()
            east.close()
        with socket.socket() as s:  # no plain TCP: the port speaks TLS only
            s.connect(("127.0.0.1", base))
            s.settimeout(2)
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            try:
                reply = s.recv(100)
            except (ConnectionResetError, TimeoutError):
                reply = b""
            assert not reply.startswith(b"+PONG")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
