"""INFO commandstats, errorstats and latencystats against redis-server: the same commands give
the same calls / rejected_calls / failed_calls and error counts (durations differ)."""

from __future__ import annotations

import re
import time

from tests.conftest import Differential
from tests.respclient import RespConnection


def _section(conn: RespConnection, name: str) -> dict[str, str]:
    text = conn.call("INFO", name).value.decode()
    return dict(line.split(":", 1) for line in text.split("\r\n")[1:] if line)


def _counts(conn: RespConnection) -> dict[str, dict[str, str]]:
    out = {}
    for name, value in _section(conn, "commandstats").items():
        fields = dict(kv.split("=") for kv in value.split(","))
        assert set(fields) == {"calls", "usec", "usec_per_call", "rejected_calls", "failed_calls"}
        assert re.fullmatch(r"\d+\.\d\d", fields["usec_per_call"])
        out[name] = {k: v for k, v in fields.items() if k not in ("usec", "usec_per_call")}
    return out


WORKLOAD = [
    ("SET", "k", "v"), ("GET", "k"), ("GET", "k"), ("GET",), ("INCR", "k"), ("LPUSH", "k", "x"),
    ("CONFIG", "GET", "hz"), ("CONFIG", "SET", "hz", "x"), ("CONFIG", "GET"), ("NOSUCH", "x"),
    ("CONFIG", "NOSUCH"), ("MULTI",), ("SET", "a", "1"), ("INCR", "k"), ("EXEC",),
    ("MULTI",), ("GET",), ("EXEC",), ("HSET", "h", "f"), ("EXPIRE", "k", "-9223372036854776"),
    ("DEBUG", "SLEEP", "0"), ("DEBUG",),
]


def test_commandstats_and_errorstats(diff: Differential) -> None:
    diff.check("CONFIG", "RESETSTAT")
    for cmd in WORKLOAD:
        diff.both(*cmd)
    ref, ours = _counts(diff.ref), _counts(diff.ours)
    ref.pop("cmdstat_config|resetstat", None)
    ours.pop("cmdstat_config|resetstat", None)
    assert ours == ref
    assert _section(diff.ours, "errorstats") == _section(diff.ref, "errorstats")
    ref_stats, our_stats = _section(diff.ref, "stats"), _section(diff.ours, "stats")
    assert our_stats["total_error_replies"] == ref_stats["total_error_replies"] != "0"


def test_latencystats_format(diff: Differential) -> None:
    diff.check("CONFIG", "RESETSTAT")
    for conn in (diff.ref, diff.ours):
        conn.call("SET", "k", "v")
        conn.call("GET", "k")
    ref, ours = _section(diff.ref, "latencystats"), _section(diff.ours, "latencystats")
    assert set(ours) >= {"latency_percentiles_usec_set", "latency_percentiles_usec_get"}
    assert set(ours) - {"latency_percentiles_usec_info"} == set(ref) - {"latency_percentiles_usec_info"}
    for line in ours.values():
        assert re.fullmatch(r"p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}", line), line
    for conn in (diff.ref, diff.ours):
        assert conn.call("CONFIG", "SET", "latency-tracking-info-percentiles", "10 99.99").value == "OK"
    line = _section(diff.ours, "latencystats")["latency_percentiles_usec_get"]
    assert re.fullmatch(r"p10=\d+\.\d{3},p99\.99=\d+\.\d{3}", line), line
    assert re.fullmatch(r"p10=\d+\.\d{3},p99\.99=\d+\.\d{3}",
                        _section(diff.ref, "latencystats")["latency_percentiles_usec_get"])
    for conn in (diff.ref, diff.ours):
        conn.call("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9")


def test_info_section_sets(diff: Differential) -> None:
    def titles(conn: RespConnection, *args: str) -> list[str]:
        text = conn.call("INFO", *args).value.decode()
        return [line for line in text.split("\r\n") if line.startswith("# ")]
    for args in ((), ("default",), ("all",), ("everything",), ("commandstats",),
                 ("latencystats", "errorstats"), ("ALL", "crdt")):
        ref = titles(diff.ref, *args)
        ours = [t for t in titles(diff.ours, *args) if t != "# CRDT"]
        assert ours == ref, args


def test_stats_forks_reads_writes(diff: Differential) -> None:
    diff.check("CONFIG", "RESETSTAT")
    for conn in (diff.ref, diff.ours):
        stats = _section(conn, "stats")
        assert stats["total_forks"] == "0"
        assert int(stats["total_reads_processed"]) >= 1 and "total_writes_processed" in stats
    for conn in (diff.ref, diff.ours):
        for _ in range(200):  # a snapshot from another test may still be running
            if b"rdb_bgsave_in_progress:0" in conn.call("INFO", "persistence").value:
                break
            time.sleep(0.02)
        assert conn.call("BGSAVE").value == "Background saving started"
    for conn in (diff.ref, diff.ours):
        stats = _section(conn, "stats")
        assert stats["total_forks"] == "1" and int(stats["latest_fork_usec"]) > 0
