"""redis-benchmark asks CONFIG GET save / appendonly before it runs: against a region it must
not print its "Could not fetch server CONFIG" warning (issue 14)."""

from __future__ import annotations

import shutil
import subprocess

from server.harness.processes import start_activekv


def test_redis_benchmark_fetches_config() -> None:
    exe = shutil.which("redis-benchmark")
    assert exe is not None, "redis-benchmark is installed by make test (redis-tools)"
    with start_activekv() as server:
        out = subprocess.run(
            [exe, "-h", "127.0.0.1", "-p", str(server.port), "-n", "20", "-c", "2", "-t", "set,get"],
            capture_output=True, text=True, timeout=60,
        )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "Could not fetch server CONFIG" not in text, text
    assert "SET" in text and "GET" in text
