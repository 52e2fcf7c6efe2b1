"""SLOWLOG and LATENCY (Redis 7.0's slowlog.c and latency.c), over server/monitor.py."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from server import errors
from server.commands.common import int_arg
from server.commands.registry import command
from server.monitor import LatencyEvent, Monitor
from server.resp import OK, Error, Map, Status, Verbatim

if TYPE_CHECKING:
    from server.connection import Client

SLOWLOG_COUNT = "ERR count should be greater than or equal to -1"

SLOWLOG_HELP: tuple[str, ...] = (
    'SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'GET [<count>]',
    '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
    '    Entries are made of:',
    '    id, timestamp, time in microseconds, arguments array, client IP and port,',
    '    client name',
    'LEN',
    '    Return the length of the slowlog.',
    'RESET',
    '    Reset the slowlog.',
    'HELP',
    '    Prints this help.',
)

LATENCY_HELP: tuple[str, ...] = (
    'LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'DOCTOR',
    '    Return a human readable latency analysis report.',
    'GRAPH <event>',
    '    Return an ASCII latency graph for the <event> class.',
    'HISTORY <event>',
    '    Return time-latency samples for the <event> class.',
    'LATEST',
    '    Return the latest latency samples for all events.',
    'RESET [<event> ...]',
    '    Reset latency data of one or more <event> classes.',
    '    (default: reset all data for all event classes)',
    'HISTOGRAM [COMMAND ...]',
    '    Return a cumulative distribution of latencies in the format of a histogram for the '
    'specified command names.',
    '    If no commands are specified then all histograms are replied.',
    'HELP',
    '    Prints this help.',
)


def _monitor(c: Client) -> Monitor:
    return c.server.monitor


# ---------------------------------------------------------------------------------- SLOWLOG


@command("slowlog|get")
def cmd_slowlog_get(c: Client, argv: list[bytes]) -> Any:
    count = 10
    if len(argv) > 3:  # Redis's addReplySubcommandSyntaxError
        raise Error("ERR unknown subcommand or wrong number of arguments for '%s'. Try SLOWLOG HELP."
                    % argv[1].decode("utf-8", "replace"))
    if len(argv) == 3:
        count = int_arg(argv[2], SLOWLOG_COUNT)
        if count < -1:
            raise Error(SLOWLOG_COUNT)
    entries = list(_monitor(c).slowlog)
    if count != -1:
        entries = entries[:count]
    return [[e.id, e.time, e.duration, list(e.argv), e.peer.encode(), e.name] for e in entries]


@command("slowlog|len")
def cmd_slowlog_len(c: Client, argv: list[bytes]) -> Any:
    return len(_monitor(c).slowlog)


@command("slowlog|reset")
def cmd_slowlog_reset(c: Client, argv: list[bytes]) -> Any:
    _monitor(c).slowlog.clear()
    return OK


@command("slowlog|help")
def cmd_slowlog_help(c: Client, argv: list[bytes]) -> Any:
    return [Status(line) for line in SLOWLOG_HELP]


# ---------------------------------------------------------------------------------- LATENCY


def _event(c: Client, name: bytes) -> LatencyEvent | None:
    return _monitor(c).latency.get(name.decode("utf-8", "surrogateescape"))


@command("latency|latest")
def cmd_latency_latest(c: Client, argv: list[bytes]) -> Any:
    return [[name, ev.samples[-1][0], ev.samples[-1][1], ev.max]
            for name, ev in _monitor(c).latency.items() if ev.samples]


@command("latency|history")
def cmd_latency_history(c: Client, argv: list[bytes]) -> Any:
    ev = _event(c, argv[2])
    return [] if ev is None else [[t, ms] for t, ms in ev.samples]


@command("latency|reset")
def cmd_latency_reset(c: Client, argv: list[bytes]) -> Any:
    events = _monitor(c).latency
    if len(argv) == 2:
        n = len(events)
        events.clear()
        return n
    resets = 0
    for arg in argv[2:]:
        want = arg.decode("utf-8", "surrogateescape").lower()
        for name in [n for n in events if n.lower() == want]:
            del events[name]
            resets += 1
    return resets


# Redis's sparkline.c: rows of "_o#" (filled), "|" below, then the labels written vertically.
_CHARSET_FILL = "_o#"


def sparkline(samples: list[tuple[float, str]], columns: int = 80, rows: int = 4) -> str:
    out: list[str] = []
    if not samples:
        return ""
    lo = min(v for v, _ in samples)
    hi = max(v for v, _ in samples)
    for start in range(0, len(samples), columns):
        if start:
            out.append("\n")
        part = samples[start:start + columns]
        out.append(_sparkline_range(part, lo, hi, rows, has_labels=any(lab for _, lab in samples)))
    return "".join(out)


def _sparkline_range(part: list[tuple[float, str]], lo: float, hi: float, rows: int,
                     has_labels: bool) -> str:
    relmax = (hi - lo) or 1
    steps = len(_CHARSET_FILL) * rows
    lines: list[str] = []
    row = 0
    while True:
        more = False
        chars = [" "] * len(part)
        for j, (value, label) in enumerate(part):
            step = int((value - lo) * steps / relmax)
            step = min(max(step, 0), steps - 1)
            if row < rows:
                more = True
                idx = step - (rows - row - 1) * len(_CHARSET_FILL)
                if 0 <= idx < len(_CHARSET_FILL):
                    chars[j] = _CHARSET_FILL[idx]
                elif idx >= len(_CHARSET_FILL):
                    chars[j] = "|"
            else:
                if has_labels and row - rows < 1:  # one blank line above the labels
                    more = True
                    break
                k = row - rows - 1
                if label and len(label) > k:
                    more = True
                    chars[j] = label[k]
        if not more:
            return "".join(lines)
        row += 1
        lines.append("".join(chars) + "\n")


def _ago(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


@command("latency|graph")
def cmd_latency_graph(c: Client, argv: list[bytes]) -> Any:
    ev = _event(c, argv[2])
    if ev is None:
        raise Error("ERR No samples available for event '%s'" % errors.arg_text(argv[2]))
    now = int(time.time())
    values = [ms for _, ms in ev.samples]
    graph = (f"{argv[2].decode('utf-8', 'replace')} - high {max(values, default=0)} ms, "
             f"low {min(values, default=0)} ms (all time high {ev.max} ms)\n" + "-" * 80 + "\n")
    graph += sparkline([(float(ms), _ago(now - t)) for t, ms in ev.samples])
    return Verbatim(graph)


_DOCTOR_DISABLED = (
    "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. "
    "You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. "
    "If we weren't in a deep space mission I'd suggest to take a look at "
    "https://redis.io/topics/latency-monitor.\n"
)
_DOCTOR_NONE = (
    "Dave, no latency spike was observed during the lifetime of this Redis instance, not in "
    "the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and "
    "think things over.\n"
)
_ADVICE_SLOWLOG_ENABLE = (
    "- There are latency issues with potentially slow commands you are using. Try to enable "
    "the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than %d'. If "
    "the Slow log is disabled Redis is not able to log slow commands execution for you.\n"
)
_ADVICE_SLOWLOG_TUNE = (
    "- Your current Slow Log configuration only logs events that are slower than your "
    "configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than %d'.\n"
)
_ADVICE_SLOWLOG_INSPECT = (
    "- Check your Slow Log to understand what are the commands you are running which are too "
    "slow to execute. Please check https://redis.io/commands/slowlog for more information.\n"
)
_ADVICE_SCHEDULER = (
    "- The system is slow to execute Redis code paths not containing system calls. This usually "
    "means the system does not provide Redis CPU time to run for long periods. You should try "
    "to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running "
    "other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n"
    "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your "
    "system.\n  5) Check if the problem is allocator-related by recompiling Redis with "
    "MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n"
)
_ADVICE_HZ = (
    "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' "
    "configuration parameter to 100 using 'CONFIG SET hz 100'.\n"
)
_ADVICE_LARGE_OBJECTS = (
    "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking "
    "operation. If you have very large objects that are often deleted, expired, or evicted, try "
    "to fragment those objects into multiple smaller objects.\n"
)


def doctor_report(c: Client) -> str:
    """Redis's createLatencyReport, for the events activekv records (command, fast-command)."""
    events = _monitor(c).latency
    cfg = c.server.config
    if not events and cfg.latency_monitor_threshold == 0:
        return _DOCTOR_DISABLED
    report = ""
    enable = tune = inspect = scheduler = large = hz = False
    advices = 0
    now = int(time.time())
    for num, (name, ev) in enumerate(events.items(), start=1):
        if num == 1:
            report += ("Dave, I have observed latency spikes in this Redis instance. "
                       "You don't mind talking about it, do you Dave?\n\n")
        values = [ms for _, ms in ev.samples]
        n = len(values)
        avg = sum(values) // n if n else 0
        mad = sum(abs(avg - v) for v in values) // n if n else 0
        period = 0
        if n:
            period = (now - min(t for t, _ in ev.samples)) or 1
        report += (f"{num}. {name}: {n} latency spikes (average {avg}ms, mean deviation {mad}ms, "
                   f"period {period / n if n else float('nan'):.2f} sec). Worst all time event "
                   f"{ev.max}ms.")
        if name.lower() == "command":
            if cfg.slowlog_log_slower_than < 0:
                enable = True
                advices += 1
            elif cfg.slowlog_log_slower_than // 1000 > cfg.latency_monitor_threshold:
                tune = True
                advices += 1
            inspect = large = True
            advices += 2
        if name.lower() == "fast-command":
            scheduler = True
            advices += 1
        if name.lower() == "expire-cycle":
            hz = large = True
            advices += 2
        report += "\n"
    if not events and not advices:
        return report + _DOCTOR_NONE
    if not advices:
        return report + ("\nWhile there are latency events logged, I'm not able to suggest any "
                         "easy fix. Please use the Redis community to get some help, providing "
                         "this report in your help request.\n")
    report += "\nI have a few advices for you:\n\n"
    if enable:
        report += _ADVICE_SLOWLOG_ENABLE % (cfg.latency_monitor_threshold * 1000)
    if tune:
        report += _ADVICE_SLOWLOG_TUNE % (cfg.latency_monitor_threshold * 1000)
    if inspect:
        report += _ADVICE_SLOWLOG_INSPECT
    if scheduler:
        report += _ADVICE_SCHEDULER
    if hz and cfg.hz < 100:
        report += _ADVICE_HZ
    if large:
        report += _ADVICE_LARGE_OBJECTS
    return report


@command("latency|doctor")
def cmd_latency_doctor(c: Client, argv: list[bytes]) -> Any:
    return Verbatim(doctor_report(c))


@command("latency|histogram")
def cmd_latency_histogram(c: Client, argv: list[bytes]) -> Any:
    mon = _monitor(c)
    if len(argv) == 2:
        names = [n for n, st in mon.commands.items() if st.hist]
    else:
        names = []
        for arg in argv[2:]:
            cmd = c.server.table.get(arg.lower())
            name = arg.decode("utf-8", "replace").lower()
            if cmd is None and "|" in name:
                container, _, sub = name.partition("|")
                parent = c.server.table.get(container.encode())
                cmd = parent.subcommands.get(sub.encode()) if parent is not None else None
            if cmd is None:
                continue
            # a container command: its own histogram (if any), then its subcommands' (no
            # deduplication: Redis answers a command named twice twice)
            for one in (cmd, *cmd.subcommands.values()):
                st = mon.commands.get(one.name)
                if st is not None and st.hist:
                    names.append(one.name)
    out = []
    for name in names:
        st = mon.commands[name]
        out.append((name, Map([("calls", st.calls),
                               ("histogram_usec", Map(mon.cdf(st)))])))
    return Map(out)


@command("latency|help")
def cmd_latency_help(c: Client, argv: list[bytes]) -> Any:
    return [Status(line) for line in LATENCY_HELP]


