"""Shared by the benchmark programs: where results go, the commit measured, PNG output."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from typing import Any


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(__file__), check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def results_path(out_dir: str, name: str) -> str:
    """``<out>/<name>-<timestamp>`` (without extension); creates the directory."""
    os.makedirs(out_dir, exist_ok=True)
    return os.path.join(out_dir, f"{name}-{time.strftime('%Y%m%d-%H%M%S')}")


def save_png(draw: Callable[[Any], Any], path: str) -> None:
    """Draw with matplotlib (headless) and save a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = draw(plt)
    fig.savefig(path, dpi=110)
    plt.close(fig)


CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_CORE, CLIENT_CORE = "0", "1"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its reaped children, e.g. snapshot writers)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / CLK_TCK


def pin(pid: int, core: str) -> None:
    if shutil.which("taskset"):
        subprocess.run(["taskset", "-a", "-p", "-c", core, str(pid)], capture_output=True, check=False)
