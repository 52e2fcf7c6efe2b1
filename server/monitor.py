"""What Redis measures about each command: INFO commandstats and latencystats, the slow log
(SLOWLOG) and the latency monitor (LATENCY). Local to a region, never replicated.

:meth:`Monitor.after_call` is called once per executed command (inside EXEC, once per queued
command; EXEC itself is ``skip_slowlog`` as in Redis) with its duration in microseconds.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from server.monitor_feed import REDACTED, redact  # passwords never reach the slow log (as Redis)

if TYPE_CHECKING:
    from server.commands.registry import Command
    from server.config import Config
    from server.connection import Client

# Redis 7.0's SENSITIVE_CONFIG parameters: CONFIG SET's value of one is redacted.
SENSITIVE_CONFIGS = frozenset({b"masterauth", b"masteruser", b"requirepass"})


def redact_logged(argv: list[bytes]) -> list[bytes]:
    """The arguments Redis 7.0 redacts (redactClientCommandArgument) before logging a command:
    AUTH's, HELLO's AUTH user and password, MIGRATE's AUTH/AUTH2 ones, every ACL SETUSER
    argument after the subcommand (even when it fails), CONFIG SET's value of a sensitive
    parameter."""
    name = argv[0].lower()
    if len(argv) > 2 and name == b"acl" and argv[1].lower() == b"setuser":
        return argv[:2] + [REDACTED] * (len(argv) - 2)
    if name == b"config" and len(argv) >= 4 and len(argv) % 2 == 0 and argv[1].lower() == b"set":
        out = list(argv)
        for i in range(2, len(out), 2):
            if out[i].lower() in SENSITIVE_CONFIGS:
                out[i + 1] = REDACTED
        return out
    return redact(argv)  # AUTH, HELLO ... AUTH, MIGRATE ... AUTH/AUTH2, as MONITOR shows them


# Redis's slowlog.h
SLOWLOG_ENTRY_MAX_ARGC = 32
SLOWLOG_ENTRY_MAX_STRING = 128
# Redis's latency.h
LATENCY_TS_LEN = 160


@dataclass
class CommandStat:
    calls: int = 0
    usec: int = 0
    rejected_calls: int = 0
    failed_calls: int = 0
    # latency histogram: hdr bucket (lowest equivalent value, ns) -> count
    hist: dict[int, int] = field(default_factory=dict)


# The latency histograms are Redis's hdr_histogram (1 ns .. 1 s, 2 significant figures):
# 256 sub-buckets per power of two; a value's bucket is its lowest equivalent value.
HDR_MIN_NS, HDR_MAX_NS = 1, 1_000_000_000
_SUB_BUCKETS = 256


def _hdr_index(v: int) -> tuple[int, int]:
    bucket = (v | (_SUB_BUCKETS - 1)).bit_length() - 8
    return bucket, v >> bucket


def hdr_lowest(v: int) -> int:
    bucket, sub = _hdr_index(v)
    return sub << bucket


def hdr_highest(v: int) -> int:
    bucket, sub = _hdr_index(v)
    size = 1 << (bucket + 1 if sub >= _SUB_BUCKETS else bucket)
    return hdr_lowest(v) + size - 1



# Redis 7.0's CMD_SKIP_SLOWLOG commands (EXEC: the commands inside it are logged instead).
_SKIP_SLOWLOG = frozenset({"exec"})


@dataclass
class SlowEntry:
    id: int
    time: int
    duration: int
    argv: list[bytes]
    peer: str
    name: bytes


def slowlog_argv(argv: list[bytes]) -> list[bytes]:
    """Redis's slowlogCreateEntry: at most 32 arguments (the last says how many more) and
    128 bytes per argument (then how many more bytes)."""
    argc = min(len(argv), SLOWLOG_ENTRY_MAX_ARGC)
    out = []
    for j in range(argc):
        if argc != len(argv) and j == argc - 1:
            out.append(b"... (%d more arguments)" % (len(argv) - argc + 1))
            break
        a = argv[j]
        if len(a) > SLOWLOG_ENTRY_MAX_STRING:
            a = a[:SLOWLOG_ENTRY_MAX_STRING] + b"... (%d more bytes)" % (len(a) - SLOWLOG_ENTRY_MAX_STRING)
        out.append(a)
    return out


@dataclass
class LatencyEvent:
    """One LATENCY event's samples (Redis's latencyTimeSeries): (unix time, ms) per second."""

    samples: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=LATENCY_TS_LEN))
    max: int = 0


class Monitor:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.commands: dict[str, CommandStat] = {}
        self.slowlog: deque[SlowEntry] = deque()
        self.slowlog_next_id = 0
        self.latency: dict[str, LatencyEvent] = {}

    def stat(self, name: str) -> CommandStat:
        st = self.commands.get(name)
        if st is None:
            st = self.commands[name] = CommandStat()
        return st

    def rejected(self, cmd: Command) -> None:
        self.stat(cmd.name).rejected_calls += 1

    def after_call(self, c: Client, cmd: Command, argv: list[bytes], ns: int, failed: bool,
                   blocked: bool = False) -> None:
        """Once per executed command (the hot path: keep it cheap). ``blocked``: the command
        blocked; the slow log and the latency monitor take it when it is served."""
        name = cmd.name
        st = self.commands.get(name)
        if st is None:
            st = self.commands[name] = CommandStat()
        usec = ns // 1000
        st.calls += 1
        st.usec += usec
        if failed:
            st.failed_calls += 1
        cfg = self.config
        if cfg.latency_tracking:
            # hdr bucket (lowest equivalent value) inlined: see hdr_lowest
            if ns < 256:
                b = ns if ns > 0 else 1
            else:
                if ns > HDR_MAX_NS:
                    ns = HDR_MAX_NS
                k = ns.bit_length() - 8
                b = (ns >> k) << k
            hist = st.hist
            hist[b] = hist.get(b, 0) + 1
        if not blocked:
            self.slow_if_needed(c, cmd, argv, usec)

    def slow_if_needed(self, c: Client, cmd: Command, argv: list[bytes], usec: int) -> None:
        cfg = self.config
        threshold = cfg.slowlog_log_slower_than
        limit = cfg.latency_monitor_threshold
        if 0 <= threshold <= usec or (limit and usec >= limit * 1000):
            self.slow(c, cmd, argv, usec)

    def slow(self, c: Client, cmd: Command, argv: list[bytes], usec: int) -> None:
        """A command that took at least one of the thresholds: the slow log (SLOWLOG), the
        latency monitor (LATENCY)."""
        cfg = self.config
        threshold = cfg.slowlog_log_slower_than
        if 0 <= threshold <= usec and cmd.name not in _SKIP_SLOWLOG:
            self.slowlog.appendleft(SlowEntry(
                self.slowlog_next_id, int(time.time()), usec, slowlog_argv(redact_logged(argv)),
                c.addr, c.name))
            self.slowlog_next_id += 1
            while len(self.slowlog) > cfg.slowlog_max_len:
                self.slowlog.pop()
        limit = cfg.latency_monitor_threshold
        if limit and usec >= limit * 1000:
            self.add_latency("fast-command" if "fast" in cmd.spec.flags else "command", usec // 1000)

    def latency_sample(self, event: str, seconds: float) -> None:
        """Redis's latencyAddSampleIfNeeded: only at or above latency-monitor-threshold."""
        limit = self.config.latency_monitor_threshold
        if limit:
            ms = int(seconds * 1000)
            if ms >= limit:
                self.add_latency(event, ms)

    def add_latency(self, event: str, ms: int) -> None:
        """Redis's latencyAddSample: one sample per second (the max of that second)."""
        ev = self.latency.get(event)
        if ev is None:
            ev = self.latency[event] = LatencyEvent()
        now = int(time.time())
        ev.max = max(ev.max, ms)
        if ev.samples and ev.samples[-1][0] == now:
            ev.samples[-1] = (now, max(ev.samples[-1][1], ms))
        else:
            ev.samples.append((now, ms))

    def reset_stats(self) -> None:
        """CONFIG RESETSTAT: command stats and latency histograms."""
        self.commands.clear()

    def percentiles(self, st: CommandStat, wanted: list[float]) -> list[tuple[float, float]]:
        """(percentile, usec) for each wanted percentile, as hdr_value_at_percentile."""
        total = sum(st.hist.values())
        items = sorted(st.hist.items())
        out = []
        for p in wanted:
            target = max(1, int(min(p, 100.0) / 100 * total + 0.5))
            seen = 0
            value = 0
            for b, n in items:
                seen += n
                if seen >= target:
                    value = hdr_highest(b)
                    break
            out.append((p, value / 1000))
        return out

    def cdf(self, st: CommandStat) -> list[tuple[int, int]]:
        """LATENCY HISTOGRAM's ``histogram_usec``: (usec, cumulative count) at each power of
        two from 1024 ns where the count grew (hdr's log iterator, base 2)."""
        items = sorted(st.hist.items())
        out: list[tuple[int, int]] = []
        if not items:
            return out
        top = items[-1][0]
        step, i, cum = 1024, 0, 0
        while True:
            limit = hdr_highest(step)
            while i < len(items) and items[i][0] <= limit:
                cum += items[i][1]
                i += 1
            if not out or cum > out[-1][1]:
                if cum:
                    out.append((limit // 1000, cum))
            if limit >= top:
                return out
            step *= 2
