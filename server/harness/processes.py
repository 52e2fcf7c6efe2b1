"""Start and stop real server processes on loopback (activekv and redis-server).

Used by the tests, the benchmarks and ``make run`` (``server/localrun.py``). Everything stays
on loopback: activekv binds 127.0.0.1 by default, redis-server is told ``--bind 127.0.0.1``,
and every probe connects to 127.0.0.1.
"""

from __future__ import annotations

import os
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


def free_port() -> int:
    with socket.socket() as s:
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
