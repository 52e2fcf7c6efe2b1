"""The value types of ``notify-keyspace-events`` and ``client-output-buffer-limit``, as Redis
7.0's ``notify.c``/``config.c`` parse and print them. ``server.config`` wraps them (a parse
error is a ``ValueError`` whose text is Redis's reason)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# notify.c: the event classes, in the order keyspaceEventsFlagsToString prints them.
NOTIFY_KEYSPACE = 1 << 0  # K
NOTIFY_KEYEVENT = 1 << 1  # E
CLASS_FLAGS = {
    "g": 1 << 2, "$": 1 << 3, "l": 1 << 4, "s": 1 << 5, "h": 1 << 6, "z": 1 << 7,
    "x": 1 << 8, "e": 1 << 9, "t": 1 << 10, "m": 1 << 11, "d": 1 << 12, "n": 1 << 13,
}
NOTIFY_KEY_MISS = CLASS_FLAGS["m"]
# "A": every class but key-miss and new (Redis's NOTIFY_ALL).
NOTIFY_ALL = sum(CLASS_FLAGS[ch] for ch in "g$lshzxetd")
_PRINT_ORDER = "g$lshzxetdn"


class KeyspaceEventsType:
    """``notify-keyspace-events``: a string of class characters, stored as flags."""

    rewrite_quoted = True  # CONFIG REWRITE writes it as Redis writes a string option

    def parse(self, args: list[str]) -> int:
        flags = 0
        for ch in args[0]:
            if ch == "A":
                flags |= NOTIFY_ALL
            elif ch == "K":
                flags |= NOTIFY_KEYSPACE
            elif ch == "E":
                flags |= NOTIFY_KEYEVENT
            elif ch in CLASS_FLAGS:
                flags |= CLASS_FLAGS[ch]
            else:
                raise ValueError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
        return flags

    def render(self, flags: Any) -> str:
        # keyspaceEventsFlagsToString, including its quirk: with every "A" class set, "n"
        # is not printed.
        out = []
        if flags & NOTIFY_ALL == NOTIFY_ALL:
            out.append("A")
        else:
            out.extend(ch for ch in _PRINT_ORDER if flags & CLASS_FLAGS[ch])
        if flags & NOTIFY_KEYSPACE:
            out.append("K")
        if flags & NOTIFY_KEYEVENT:
            out.append("E")
        if flags & NOTIFY_KEY_MISS:
            out.append("m")
        return "".join(out)


# client-output-buffer-limit: class -> (hard bytes, soft bytes, soft seconds)
Limits = dict[str, tuple[int, int, int]]
DEFAULT_LIMITS: Limits = {
    "normal": (0, 0, 0),
    "replica": (256 * 1024**2, 64 * 1024**2, 60),
    "pubsub": (32 * 1024**2, 8 * 1024**2, 60),
}
_CLASS_NAMES = {"normal": "normal", "slave": "replica", "replica": "replica", "pubsub": "pubsub"}
_PRINT_NAMES = (("normal", "normal"), ("slave", "replica"), ("pubsub", "pubsub"))


class OutputBufferLimitType:
    """``client-output-buffer-limit <class> <hard> <soft> <soft seconds> [...]``: classes not
    named keep their value (``merge``). ``memtoull`` is the memory parser every memory option
    uses (``server.config``'s)."""

    def __init__(self, memtoull: Callable[[str], int | None]) -> None:
        self.memtoull = memtoull

    def parse(self, args: list[str]) -> Limits:
        if len(args) % 4:
            raise ValueError("Wrong number of arguments in buffer limit configuration.")
        out: Limits = {}
        for i in range(0, len(args), 4):
            cls = _CLASS_NAMES.get(args[i].lower())
            if cls is None:
                raise ValueError("Invalid client class specified in buffer limit configuration.")
            values = [self.memtoull(a) for a in args[i + 1 : i + 4]]
            if any(v is None for v in values):
                raise ValueError("Error in hard, soft or soft_seconds setting in buffer limit "
                                 "configuration.")
            hard, soft, seconds = (int(v or 0) for v in values)
            out[cls] = (hard, soft, seconds)
        return out

    def merge(self, old: Limits, new: Limits) -> Limits:
        merged = dict(DEFAULT_LIMITS)
        merged.update(old)
        merged.update(new)
        return merged

    def render(self, limits: Any) -> str:
        return " ".join(f"{name} {' '.join(map(str, limits[cls]))}" for name, cls in _PRINT_NAMES)

    def rewrite_lines(self, name: str, limits: Limits,
                      fmt: Callable[[int], str]) -> list[tuple[str, bool]]:
        """CONFIG REWRITE (rewriteConfigClientOutputBufferLimitOption): a line per class, in
        memory units; written even where the file lacks it only when it is not the default."""
        return [(f"{name} {pname} {fmt(limits[cls][0])} {fmt(limits[cls][1])} {limits[cls][2]}",
                 limits[cls] != DEFAULT_LIMITS.get(cls)) for pname, cls in _PRINT_NAMES if cls in limits]
