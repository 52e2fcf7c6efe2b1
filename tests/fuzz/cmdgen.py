"""Argument generation for the command fuzzer, from the command table's own metadata.

``COMMAND DOCS`` (``server/command_spec.json``, Redis 7.0.15's) describes each command's
arguments as a tree (``key``, ``integer``, ``double``, ``string``, ``pattern``, ``unix-time``,
``pure-token``, ``oneof``, ``block``; ``optional``, ``multiple``, ``multiple_token``). ``argv``
walks it to make a plausible call, then boundary values replace the leaves and mutations
shuffle, drop or add words, so that both the deep paths (a valid call with one bad number)
and the early checks (garbage everywhere) are reached.
"""

from __future__ import annotations

import random
from typing import Any

from server.command_spec import CommandSpec, load_spec, to_plain

# Never sent: they stop the server, take over the connection or make it silent (SHUTDOWN,
# MONITOR, SUBSCRIBE and friends, CLIENT PAUSE/REPLY), run arbitrary debugging code, or
# connect to the host they are given (MIGRATE: a fuzzed host such as "13.361389" is a public
# address to getaddrinfo; tests send traffic to loopback only).
EXCLUDED = {
    "shutdown", "monitor", "subscribe", "psubscribe", "ssubscribe", "debug",
    "client|pause", "client|reply", "migrate",
    # SYNC/PSYNC make the connection a replica's; REPLCONF ACK/GETACK has no reply at all
    "sync", "psync", "replconf",
}

# CONFIG SET only on parameters whose any value leaves the server serving this fuzzer
# (not requirepass, port, dir, maxmemory, bind, protected-mode, ...).
CONFIG_SAFE = [
    b"hash-max-listpack-entries", b"list-max-listpack-size", b"set-max-intset-entries",
    b"zset-max-listpack-value", b"slowlog-log-slower-than", b"slowlog-max-len",
    b"notify-keyspace-events", b"latency-monitor-threshold", b"maxmemory-policy",
    b"lua-time-limit", b"stream-node-max-entries", b"hll-sparse-max-bytes",
    b"lfu-log-factor", b"active-expire-effort", b"tracking-table-max-keys",
]

INTS = [b"0", b"-1", b"1", b"2", b"3", b"10", b"9223372036854775807", b"-9223372036854775808",
        b"9223372036854775808", b"-9223372036854775809", b"18446744073709551616",
        b"-2147483649", b"4294967296", b"1000000000000", b"99999999999999999999",
        b"", b"abc", b"1.5", b" 1", b"1 ", b"0x10", b"+1", b"-0", b"007", b"1e3", b"\xff"]
SMALL_INTS = [b"0", b"1", b"2", b"3", b"-1", b"5"]
DOUBLES = [b"inf", b"-inf", b"+inf", b"nan", b"-nan", b"NaN", b"1e308", b"1e309", b"-1e309",
           b"0", b"-0", b"1.5", b"-2.5", b"1e-320", b"abc", b"", b"1,5", b" 1", b"0x1p3",
           b"Infinity", b"9223372036854775807", b"(1", b"(inf", b"1.7976931348623157e308"]
STRINGS = [b"", b"a", b"x" * 300, b"\xff\xfe\x00\x80", b"caf\xc3", b"\x00", b"*", b"?", b"[",
           b"\\", b"-", b"+", b"(", b"[a", b"(1", b"$", b">", b"0-0", b"0-1", b"1-1", b"~",
           b"=", b"18446744073709551615-18446744073709551615", b"1-18446744073709551616",
           b"-1-1", b"m1", b"m2", b"f1", b"g1", b"c1", b"13.361389", b"38.115556", b"\r\n",
           b"return 1", b"#!lua name=lib\nredis.register_function('f', function() return 1 end)",
           b"1", b"-1", b"0", b"nan", b"inf"]
PATTERNS = [b"*", b"[", b"[^", b"\\", b"a*b?c[d-f]", b"*" * 40, b"k:*", b"[a-", b"?*?*?*?*?*x",
            b"\xff*"]
# (No in-range offsets of hundreds of MB: SETBIT k 2147483648 1 is valid and builds a 256 MB
# string, which takes seconds in Python, and memory, not a finding.)
# Timeouts for the blocking commands: short, invalid or negative, never 0 or huge (a real
# wait would only slow the run; the parsing of huge values is fuzzed on non-blocking ones).
TIMEOUTS = [b"0.01", b"0.05", b"-1", b"abc", b"", b"nan", b"-inf", b"0.001"]
BLOCK_MS = [b"1", b"10", b"-1", b"abc", b"", b"9223372036854775807x"]
# SRANDMEMBER/HRANDFIELD/ZRANDMEMBER with a negative count answer that many elements (repeats
# allowed): -2147483649 is a valid call whose reply of 2^31 elements no client reads within the
# fuzzer's 5 s (redis-server builds it all in memory first; activekv streams it, see
# tests/integration/test_streamed_reply.py). They get a count whose reply the fuzzer's strict
# parser reads in well under its timeout on a loaded machine (-100000 WITHSCORES took up to 5 s).
REPLY_SIZED_BY_COUNT = {"srandmember", "hrandfield", "zrandmember"}
LARGE_COUNT = b"-10000"


class Generator:
    def __init__(self, rng: random.Random, keys: list[bytes]) -> None:
        self.rng = rng
        self.keys = keys
        self.table = load_spec()
        self.tokens = sorted({t for spec in self.leaves() for t in _tokens(_args(spec))})

    def leaves(self) -> list[CommandSpec]:
        """Every command and subcommand that is fuzzed (containers by their subcommands)."""
        out = []
        for spec in self.table.values():
            for leaf in spec.subcommands.values() or [spec]:
                if leaf.name not in EXCLUDED:
                    out.append(leaf)
        return out

    # -- one call ---------------------------------------------------------------------------
    def argv(self, spec: CommandSpec) -> list[bytes]:
        rng = self.rng
        name = [spec.name.split("|")[0].encode()]
        if spec.container is not None:
            name.append(spec.name.split("|")[1].encode())
        name = [self._case(w) for w in name]
        args = self._walk(_args(spec), spec.name, blocking="blocking" in spec.flags)
        if spec.name == "config|set":
            args = [rng.choice(CONFIG_SAFE), self.value("string")]
        roll = rng.random()
        if roll < 0.12 and len(args) > 1:  # options in random order
            rng.shuffle(args)
        elif roll < 0.2 and args:
            del args[rng.randrange(len(args))]
        elif roll < 0.28:
            args.insert(rng.randint(0, len(args)), self.value(rng.choice(["token", "integer", "string"])))
        elif roll < 0.32:
            args = [self.value(rng.choice(["key", "integer", "double", "string", "token"]))
                    for _ in range(rng.randint(0, 6))]
        if "blocking" in spec.flags and roll < 0.32:
            self._short_timeout(spec.name, args)
        if spec.name in REPLY_SIZED_BY_COUNT:
            args = [LARGE_COUNT if a == b"-2147483649" else a for a in args]
        return name + args

    def _short_timeout(self, name: str, args: list[bytes]) -> None:
        """After a mutation moved things, whatever now sits where a blocking command reads
        its timeout is a short one (a 13 s BZPOPMIN is valid, and only slows the run)."""
        rng = self.rng
        if name in ("blmpop", "bzmpop"):
            if args:
                args[0] = rng.choice(TIMEOUTS)
        elif name in ("xread", "xreadgroup"):
            for i, a in enumerate(args[:-1]):
                if a.lower() == b"block":
                    args[i + 1] = rng.choice(BLOCK_MS)
        elif args:
            args[-1] = rng.choice(TIMEOUTS)

    def _case(self, word: bytes) -> bytes:
        r = self.rng.random()
        return word.upper() if r < 0.5 else word.lower() if r < 0.8 else word.capitalize()

    def _walk(self, args: list[dict[str, Any]], cmd: str, blocking: bool) -> list[bytes]:
        rng = self.rng
        out: list[bytes] = []
        for arg in args:
            flags = arg.get("flags") or []
            if "optional" in flags and rng.random() < 0.45:
                continue
            times = rng.choice([1, 1, 2, 3]) if "multiple" in flags else 1
            for i in range(times):
                token = arg.get("token")
                if token and (i == 0 or "multiple_token" in flags):
                    out.append(self._case(token.encode()))
                out += self._one(arg, cmd, blocking)
        return out

    def _one(self, arg: dict[str, Any], cmd: str, blocking: bool) -> list[bytes]:
        kind = arg["type"]
        name = arg.get("name", "")
        if kind == "pure-token":
            return []
        if kind == "oneof":
            return self._walk([self.rng.choice(arg["arguments"])], cmd, blocking)
        if kind == "block":
            return self._walk(arg["arguments"], cmd, blocking)
        if name == "timeout" and (blocking or cmd in ("wait",)):
            return [self.rng.choice(TIMEOUTS)]
        if name == "milliseconds" and blocking:
            return [self.rng.choice(BLOCK_MS)]
        if name in ("numkeys", "count", "numreplicas") and self.rng.random() < 0.6:
            return [self.rng.choice(SMALL_INTS)]
        return [self.value(kind)]

    def value(self, kind: str) -> bytes:
        rng = self.rng
        if kind == "key":
            return rng.choice(self.keys) if rng.random() < 0.9 else rng.choice(STRINGS)
        if kind in ("integer", "unix-time"):
            return rng.choice(SMALL_INTS if rng.random() < 0.4 else INTS)
        if kind == "double":
            return rng.choice(DOUBLES if rng.random() < 0.7 else INTS)
        if kind == "pattern":
            return rng.choice(PATTERNS)
        if kind == "token":
            return self._case(rng.choice(self.tokens).encode())
        return rng.choice(STRINGS)


def _args(spec: CommandSpec) -> list[dict[str, Any]]:
    docs = to_plain(spec.docs) if spec.docs is not None else {}
    args: list[dict[str, Any]] = docs.get("arguments") or [] if isinstance(docs, dict) else []
    return args


def _tokens(args: list[dict[str, Any]]) -> set[str]:
    out = set()
    for arg in args:
        if arg.get("token"):
            out.add(arg["token"])
        out |= _tokens(arg.get("arguments") or [])
    return out
