"""Value types of the configuration options (Redis's bool/enum/numeric/string/special config
types, with its exact error texts) and :class:`Option`, one entry of the option table.

``parse(args)`` turns the arguments of a directive into a value or raises :class:`_Bad` with
Redis's reason; ``render(value)`` is what CONFIG GET prints. A type with a ``combine(old, new)``
method updates the current value instead of replacing it (Redis's ``client-output-buffer-limit``
sets only the classes given).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crdt.numbers import parse_int

UINT_MAX = 2**32 - 1
_ULL = 2**64

class _Bad(Exception):
    """A value rejected by an option's parser; the text is Redis's reason."""


def _enc(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _dec(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------------------------
# Value types (Redis's numeric/enum/string/bool config types and their exact error texts)
# --------------------------------------------------------------------------------------------


_MEM_UNITS = {
    b"": 1,
    b"b": 1,
    b"k": 1000,
    b"kb": 1024,
    b"m": 1000**2,
    b"mb": 1024**2,
    b"g": 1000**3,
    b"gb": 1024**3,
}


def memtoull(s: str) -> int | None:
    """Redis ``memtoull`` (unsigned 64-bit, wrapping as C does); None when not a memory value."""
    b = _enc(s)
    if b[:1] == b"-":
        return None
    i = 0
    while i < len(b) and 0x30 <= b[i] <= 0x39:
        i += 1
    mul = _MEM_UNITS.get(b[i:].lower())
    if mul is None or i >= 128:
        return None
    # strtoull: "" converts to 0; overflow saturates to ULLONG_MAX (ERANGE is not checked).
    val = min(int(b[:i]), _ULL - 1) if i else 0
    return (val * mul) % _ULL


class IntType:
    """A Redis integer config: ``string2ll`` then a bounds check (signed or unsigned)."""

    def __init__(
        self, lo: int, hi: int, *, unsigned: bool = False, clamp: tuple[int, int] | None = None
    ) -> None:
        self.lo, self.hi, self.unsigned, self.clamp = lo, hi, unsigned, clamp

    def check(self, v: int) -> int:
        """Redis ``numericBoundaryCheck``: unsigned types compare the value as unsigned."""
        u = v % _ULL if self.unsigned else v
        if u < self.lo or u > self.hi:
            raise _Bad(f"argument must be between {self.lo} and {self.hi} inclusive")
        if self.clamp is not None:  # Redis's apply function for hz clamps silently
            v = max(self.clamp[0], min(self.clamp[1], v))
        return v

    def parse(self, args: list[str]) -> int:
        v = parse_int(_enc(args[0]))
        if v is None:
            raise _Bad("argument couldn't be parsed into an integer")
        return self.check(v)

    def render(self, v: Any) -> str:
        return str(v)


class MemoryType(IntType):
    """A Redis MEMORY_CONFIG number: ``1k``=1000, ``1kb``=1024, ... rendered as plain bytes."""

    def parse(self, args: list[str]) -> int:
        u = memtoull(args[0])
        if u is None:
            raise _Bad("argument must be a memory value")
        # The result lands in a long long: reinterpret for the signed bounds check.
        v = u - _ULL if (u >= 2**63 and not self.unsigned) else u
        return self.check(v)


class EnumType:
    def __init__(self, *values: str) -> None:
        self.values = values

    def parse(self, args: list[str]) -> str:
        for v in self.values:
            if args[0].lower() == v:
                return v
        raise _Bad("argument(s) must be one of the following: " + ", ".join(self.values))

    def render(self, v: Any) -> str:
        return str(v)


class BoolType:
    def parse(self, args: list[str]) -> bool:
        v = args[0].lower()
        if v == "yes":
            return True
        if v == "no":
            return False
        raise _Bad("argument must be 'yes' or 'no'")

    def render(self, v: Any) -> str:
        return "yes" if v else "no"


class StringType:
    def __init__(self, *, allow_empty: bool = True) -> None:
        self.allow_empty = allow_empty

    def parse(self, args: list[str]) -> str:
        if not args[0] and not self.allow_empty:
            raise _Bad("argument must not be empty")  # activekv's own (region)
        return args[0]

    def render(self, v: Any) -> str:
        return str(v)


class DirType:
    """``dir``: must be an existing directory (Redis chdir()s and reports strerror)."""

    def parse(self, args: list[str]) -> str:
        path = os.path.abspath(args[0]) if args[0] else ""
        if not path or not os.path.exists(path):
            raise _Bad("No such file or directory")
        if not os.path.isdir(path):
            raise _Bad("Not a directory")
        if not os.access(path, os.X_OK):
            raise _Bad("Permission denied")
        return path

    def render(self, v: Any) -> str:
        return str(v)


CONFIG_BINDADDR_MAX = 16


class BindType:
    """``bind``: several addresses. A multi-argument option, like Redis's."""

    def parse(self, args: list[str]) -> list[str]:
        if len(args) > CONFIG_BINDADDR_MAX:
            raise _Bad("Too many bind addresses specified.")
        if len(args) == 1 and not args[0]:  # a single empty argument means "no address"
            return []
        return list(args)

    def render(self, v: Any) -> str:
        return " ".join(v)


class PeerType:
    """``peer host:port``: one peer region's address; repeatable (each line adds one)."""

    def parse(self, args: list[str]) -> list[tuple[str, int]]:
        out = []
        for arg in args:
            host, sep, port = arg.rpartition(":")
            host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
            number = parse_int(_enc(port)) if sep else None
            if not host or number is None or not 0 < number < 65536:
                raise _Bad(f"'{arg}' is not a host:port address")
            out.append((host, number))
        return out

    def render(self, v: Any) -> str:
        return " ".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in v)


ValueType = Any  # every class above: parse(args) -> value, render(value) -> str


# --------------------------------------------------------------------------------------------
# The option table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    name: str
    type: ValueType
    default: Callable[[], Any]
    mutable: bool = True  # CONFIG SET allowed ("can't set immutable config" otherwise)
    protected: bool = False  # Redis PROTECTED_CONFIG: refused by CONFIG SET, as with the
    # default enable-protected-configs no ("can't set protected config")
    multi_arg: bool = False  # Redis MULTI_ARG_CONFIG: takes several arguments
    repeatable: bool = False  # each occurrence adds to a list (``peer``)
    alias: str | None = None  # Redis's second name (``hash-max-ziplist-entries``)
    hidden: bool = False  # Redis HIDDEN_CONFIG: not in ``CONFIG GET *``, but settable

    @property
    def attr(self) -> str:
        return self.name.replace("-", "_")

    def parse(self, args: list[str]) -> Any:
        return self.type.parse(args)

    def render(self, value: Any) -> str:
        return self.type.render(value)


def _const(v: Any) -> Callable[[], Any]:
    return lambda: v




# --------------------------------------------------------------------------------------------
# Redis 7.0's special configs (config.c's createSpecialConfig and friends)
# --------------------------------------------------------------------------------------------


class EnumAliasType(EnumType):
    """An enum where several names mean one value (``oom-score-adj``: ``relative`` is ``yes``);
    CONFIG GET shows the first name of the value, as Redis's configEnumGetName."""

    def __init__(self, *values: str, same: dict[str, str]) -> None:
        super().__init__(*values)
        self.same = same

    def parse(self, args: list[str]) -> str:
        v = super().parse(args)
        return self.same.get(v, v)


class OctalType(IntType):
    """``unixsocketperm``: an octal number (Redis's OCTAL_CONFIG), shown in octal."""

    def parse(self, args: list[str]) -> int:
        try:
            v = int(args[0], 8)
        except ValueError:
            raise _Bad("argument couldn't be parsed into an integer") from None
        if v < self.lo or v > self.hi:
            raise _Bad(f"argument must be between {self.lo:o} and {self.hi:o} inclusive")
        return v

    def render(self, v: Any) -> str:
        return f"{v:o}"


class PercentMemoryType(MemoryType):
    """``maxmemory-clients``: bytes, or ``N%`` of maxmemory (stored as ``-N``, as Redis)."""

    def parse(self, args: list[str]) -> int:
        s = args[0]
        if s.endswith("%"):
            v = parse_int(_enc(s[:-1]))
            if v is None or v < 0:
                raise _Bad("argument must be a memory or percent value")
            if v > 100:
                raise _Bad("percentage argument must be less or equal to 100")
            return -v
        if memtoull(s) is None:
            raise _Bad("argument must be a memory or percent value")
        return super().parse(args)

    def render(self, v: Any) -> str:
        return f"{-v}%" if v < 0 else str(v)


class SaveType:
    """``save [seconds changes ...]``: snapshot points; ``""`` means none. In a file each
    line adds points (the first one replaces the default), as Redis's setConfigSaveOption."""

    def parse(self, args: list[str]) -> list[tuple[int, int]]:
        if len(args) == 1 and not args[0]:
            return []
        if len(args) % 2:
            raise _Bad("Invalid save parameters")
        nums = []
        for a in args:
            v = parse_int(_enc(a))
            if v is None or v < 0:
                raise _Bad("Invalid save parameters")
            nums.append(v)
        return list(zip(nums[::2], nums[1::2], strict=True))

    def render(self, v: Any) -> str:
        return " ".join(f"{s} {c}" for s, c in v)


class OomValuesType:
    """``oom-score-adj-values``: three numbers between -2000 and 2000."""

    def parse(self, args: list[str]) -> list[int]:
        if len(args) != 3:
            raise _Bad("wrong number of arguments")
        out = []
        for a in args:
            v = parse_int(_enc(a))
            if v is None or not -2000 <= v <= 2000:
                raise _Bad("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
            out.append(v)
        return out

    def render(self, v: Any) -> str:
        return " ".join(map(str, v))


# notify-keyspace-events: Redis's flag letters (notify.c), in keyspaceEventsFlagsToString order.
class PercentilesType:
    """``latency-tracking-info-percentiles``: doubles between 0 and 100 (``""``: none)."""

    def parse(self, args: list[str]) -> list[float]:
        if len(args) == 1 and not args[0]:
            return []
        out = []
        for a in args:
            try:
                v = float(a)
            except ValueError:
                raise _Bad("Invalid latency-tracking-info-percentiles parameters") from None
            if v != v or v in (float("inf"), float("-inf")):
                raise _Bad("Invalid latency-tracking-info-percentiles parameters")
            if not 0.0 <= v <= 100.0:
                raise _Bad("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
            out.append(v)
        return out

    def render(self, v: Any) -> str:
        return " ".join(fmt_percentile(p) for p in v)


def fmt_percentile(p: float) -> str:
    """Redis prints a percentile with ``%f`` then trims trailing zeros (trimDoubleString)."""
    s = f"{p:f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


class ReplicaOfType:
    """``replicaof host port`` / ``replicaof no one``. activekv regions are all primaries: a
    file may say ``no one`` (or leave it out); a replica address is refused at start."""

    def parse(self, args: list[str]) -> str:
        if len(args) != 2:
            raise _Bad("wrong number of arguments")
        if args[0].lower() == "no" and args[1].lower() == "one":
            return ""
        port = parse_int(_enc(args[1]))
        if port is None or not 0 <= port <= 65535:
            raise _Bad("Invalid master port")
        raise _Bad("activekv regions are active-active primaries: replicaof is not supported")

    def render(self, v: Any) -> str:
        return str(v)


class CheckedStringType(StringType):
    """A string with a validity check (Redis's is_valid_fn) giving its error text."""

    def __init__(self, check: Callable[[str], str | None]) -> None:
        super().__init__()
        self.check = check

    def parse(self, args: list[str]) -> str:
        err = self.check(args[0])
        if err is not None:
            raise _Bad(err)
        return args[0]


class RefusedBoolType(BoolType):
    """A bool that cannot be turned on here (``activedefrag``: Redis says the same without
    its own jemalloc)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def parse(self, args: list[str]) -> bool:
        v = super().parse(args)
        if v:
            raise _Bad(self.reason)
        return v


class ShutdownFlagsType:
    """``shutdown-on-sigterm``/``shutdown-on-sigint``: a set of SHUTDOWN flags (Redis's
    multi-value enum); ``default`` is none, SAVE and NOSAVE exclude each other."""

    NAMES = ("default", "save", "nosave", "now", "force")

    def parse(self, args: list[str]) -> str:
        if not args:
            raise _Bad("argument(s) must be one of the following: " + ", ".join(self.NAMES))
        flags: set[str] = set()
        for a in args:
            v = a.lower()
            if v not in self.NAMES:
                raise _Bad("argument(s) must be one of the following: " + ", ".join(self.NAMES))
            if v != "default":
                flags.add(v)
        if {"save", "nosave"} <= flags:
            raise _Bad("shutdown options SAVE and NOSAVE can't be used simultaneously")
        return " ".join(n for n in self.NAMES if n in flags) or "default"

    def render(self, v: Any) -> str:
        return str(v)


class WatchdogType(IntType):
    """``watchdog-period`` (hidden): a period under 200 ms (two ticks at hz 10) is raised to
    200, as Redis's enableWatchdog; 0 turns it off."""

    def check(self, v: int) -> int:
        v = super().check(v)
        return max(v, 200) if v else 0
