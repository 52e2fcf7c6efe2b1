"""Start and stop real server processes on loopback (activekv and redis-server).

Used by the tests, the benchmarks and ``make run`` (``server/localrun.py``). Everything stays
on loopback: activekv binds 127.0.0.1 by default, redis-server is told ``--bind 127.0.0.1``,
and every probe connects to 127.0.0.1.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The directory holding the ``server`` package (the checkout, in an editable install).
ROOT = Path(__file__).resolve().parent.parent.parent


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_EPHEMERAL_LOW = _ephemeral_low()
_PORTS_LOW = max(1024, min(20000, _EPHEMERAL_LOW - 4096))
_handed_out: set[int] = set()
_rng = random.Random()


def free_port() -> int:
    """A loopback port nothing listens on, below the kernel's ephemeral range: a port the
    kernel hands out itself (bind to 0) can be taken again as the local end of any outgoing
    connection — a peer link's — before the server started on it binds it. Ports are not
    handed out twice by one process."""
    for _ in range(200):
        port = _rng.randrange(_PORTS_LOW, _EPHEMERAL_LOW)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as s:  # (the range is crowded: what the kernel gives)
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def is_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0,
             poll_s: float = 0.05) -> bool:
    """Until the server on ``port`` answers a PING (any reply), or ``proc`` exits, or
    ``timeout`` passes; whether it answered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                if s.recv(64):
                    return True
        except OSError:
            time.sleep(poll_s)
    return False


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if is_ready(port, proc, timeout):
        return
    if proc.poll() is not None:
        raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
    raise RuntimeError(f"server on port {port} did not start within {timeout}s")


class ServerProcess:
    """A server process; ``stop()`` (or the context manager) always ends it."""

    def __init__(self, argv: list[str], port: int, workdir: str,
                 ready: Callable[[subprocess.Popen[bytes]], None] | None = None) -> None:
        self.port = port
        self.workdir = workdir
        self._argv, self._ready = argv, ready
        self.log_path = os.path.join(workdir, "server.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=workdir)
        try:
            if ready is None:
                wait_for_port(port, self.proc)
            else:  # e.g. a TLS-only server (--port 0): the caller knows how to probe it
                ready(self.proc)
        except Exception:
            self.stop()
            raise

    def log(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def restart(self, sig: int = signal.SIGKILL) -> ServerProcess:
        """Stop (``kill -9`` by default) and start the same server again on its data."""
        self.stop(sig)
        return ServerProcess(self._argv, self.port, self.workdir, self._ready)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def activekv_argv(port: int, workdir: str, *args: str) -> list[str]:
    """The command line of one ``activekv-server`` on ``port`` with its data in ``workdir``."""
    return [sys.executable, "-m", "server", "--port", str(port), "--dir", workdir, *args]


def start_activekv(*args: str, port: int | None = None, workdir: str | None = None,
                   ready: Callable[[subprocess.Popen[bytes]], None] | None = None) -> ServerProcess:
    port = port or free_port()
    workdir = workdir or tempfile.mkdtemp(prefix="activekv-test-")
    argv = activekv_argv(port, workdir, *args)
    if "--region" not in args:
        argv += ["--region", "test"]
    env_root = str(ROOT)
    os.environ["PYTHONPATH"] = env_root + os.pathsep + os.environ.get("PYTHONPATH", "")
    return ServerProcess(argv, port, workdir, ready)


def start_redis(*args: str, port: int | None = None) -> ServerProcess:
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server is not installed (make test installs it)")
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="redis-test-")
    argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", workdir, *args]
    return ServerProcess(argv, port, workdir)
