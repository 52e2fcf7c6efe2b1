"""The activekv-server command line: config file then flags, errors, signals."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import redis

from server.harness.processes import ROOT, free_port, start_activekv


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server", *args], capture_output=True, text=True,
                          timeout=20, cwd=ROOT)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--port", "abc"], "'port'"),
        (["--port", "70000"], "'port'"),
        (["--nosuch", "1"], "'nosuch'"),
        (["--databases", "0"], "'databases'"),
        (["--loglevel", "loud"], "'loglevel'"),
        (["/nonexistent/activekv.conf"], "/nonexistent/activekv.conf"),
    ],
)
def test_bad_option_exits_nonzero_with_one_line(args: list[str], fragment: str) -> None:
    proc = run_cli(*args)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], proc.stderr


def test_config_file_then_flags_override() -> None:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="activekv-cli-")
    conf = Path(workdir) / "activekv.conf"
    conf.write_text(f"# a region\nport {free_port()}\nrequirepass \"s3cret\"\ndatabases 4\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", str(conf), "--port", str(port), "--dir", workdir],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        from server.harness.processes import wait_for_port

        wait_for_port(port, proc)
        client = redis.Redis(port=port, password="s3cret")
        assert client.ping()
        with pytest.raises(redis.ResponseError, match="DB index is out of range"):
            client.execute_command("SELECT", "4")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).get("x")
        client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(sig: int) -> None:
    server = start_activekv()
    client = redis.Redis(port=server.port)
    assert client.set("k", "v")
    client.close()
    assert server.stop(sig) == 0
    assert "bye" in server.log()
