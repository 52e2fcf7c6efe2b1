"""The ACL log (Redis 7.0's addACLLogEntry / ACL LOG): denied commands, keys, channels and
failed authentications, newest first, similar entries within 60 s grouped with a count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.resp import Map

GROUPING_MAX_MS = 60_000
SCAN_FOR_MATCH = 10


@dataclass
class Entry:
    reason: str  # command, key, channel, auth
    context: str  # toplevel, multi
    object: bytes
    username: bytes
    ctime_ms: int
    cinfo: str
    count: int = 1

    def same_as(self, other: Entry) -> bool:
        return (self.reason == other.reason and self.context == other.context
                and abs(self.ctime_ms - other.ctime_ms) <= GROUPING_MAX_MS
                and self.object == other.object and self.username == other.username)


class AclLog:
    def __init__(self, max_len: int = 128) -> None:
        self.entries: list[Entry] = []  # newest first
        self.max_len = max_len

    def add(self, entry: Entry) -> None:
        for i, current in enumerate(self.entries[:SCAN_FOR_MATCH]):
            if current.same_as(entry):
                current.cinfo = entry.cinfo
                current.ctime_ms = entry.ctime_ms
                current.count += 1
                self.entries.insert(0, self.entries.pop(i))
                return
        self.entries.insert(0, entry)
        del self.entries[max(self.max_len, 0):]

    def reset(self) -> None:
        self.entries.clear()

    def reply(self, count: int, now_ms: int) -> list[Any]:
        return [
            Map([
                ("count", e.count), ("reason", e.reason), ("context", e.context),
                ("object", e.object), ("username", e.username),
                ("age-seconds", (now_ms - e.ctime_ms) / 1000), ("client-info", e.cinfo),
            ])
            for e in self.entries[: max(count, 0)]
        ]
