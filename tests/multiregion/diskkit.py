"""Real disk faults for tests: a small tmpfs mounted as a server's data directory, filled up
to ENOSPC and freed again; servers whose data is on it (their log file is elsewhere)."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

from server.harness.processes import ROOT, ServerProcess, activekv_argv, free_port

FILLER = "filler"


@contextlib.contextmanager
def tmpfs(size: str = "4m") -> Iterator[str]:
    """A fresh tmpfs of ``size`` mounted on a new directory; always unmounted and removed."""
    where = tempfile.mkdtemp(prefix="akv-tmpfs-")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", where],
                          capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        os.rmdir(where)
        pytest.fail(f"this test mounts a tmpfs and needs root (CAP_SYS_ADMIN): mount said "
                    f"{done.stderr.strip() or done.returncode!r}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", where], capture_output=True, timeout=10).returncode != 0:
            subprocess.run(["umount", "-l", where], capture_output=True, timeout=10)
        shutil.rmtree(where, ignore_errors=True)


def fill(where: str) -> int:
    """Write a file until the file system is full (ENOSPC); its size."""
    path = os.path.join(where, FILLER)
    chunk = b"\0" * 65536
    written = 0
    with open(path, "ab", buffering=0) as f:
        for _ in range(100_000):  # bounded: a tmpfs of a few MB fills long before
            try:
                written += f.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
        else:
            raise AssertionError(f"{where} never filled up")
        for _ in range(64):  # the last partial chunk: byte by byte, down to the last one
            try:
                f.write(b"\0" * 512)
                written += 512
            except OSError:
                break
    return written


def free(where: str) -> None:
    os.unlink(os.path.join(where, FILLER))


def start_on(datadir: str, *args: str, port: int | None = None,
             logdir: str | None = None) -> ServerProcess:
    """An activekv whose data directory is ``datadir`` and whose output goes to ``logdir``."""
    port = port or free_port()
    logdir = logdir or tempfile.mkdtemp(prefix="akv-disklog-")
    argv = activekv_argv(port, datadir, *args)
    if "--region" not in args:
        argv += ["--region", "test"]
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    return ServerProcess(argv, port, logdir)
