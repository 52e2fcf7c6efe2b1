"""CLIENT PAUSE / UNPAUSE (Redis 7.0's pauseClients): one pause state per server.

While a pause is on, a client's command that it covers is postponed: the connection holds it
(and what follows it, replies stay in order) and runs it once the pause ends. ``ALL`` covers
every command (CLIENT UNPAUSE too, as in Redis: it waits for the timeout); ``WRITE`` covers
write and ``may_replicate`` commands, and EXEC of a transaction holding one. A new pause never
shortens the current one and only upgrades WRITE to ALL. Batches replicated from peers are not
commands of a client: they are still applied. The active expire cycle pauses too.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from server.blocking import Blocked
from server.resp import NO_REPLY, Error
from server.scripting.engine import MAY_REPLICATE, parse_shebang
from server.scripting.functions import current

if TYPE_CHECKING:
    from server.commands.registry import Command
    from server.connection import Client


def _declared_flags(c: Client, name: str, argv: list[bytes]) -> frozenset[str] | None:
    """The flags a script or function declared (Redis's eval/fcallGetCommandFlags), or None
    where it declared none or is unknown: then the command's own flags (may replicate) count."""
    if len(argv) < 2:
        return None
    if name == "eval":
        if not argv[1].startswith(b"#!"):
            return None
        try:
            return parse_shebang(argv[1], eval_script=True)[0]
        except Error:
            return None
    if name == "evalsha":
        eng = getattr(c.server, "lua_engine", None)
        script = None if eng is None else eng.scripts.get(argv[1].decode("latin-1").lower())
        return None if script is None or script.compat else script.flags
    f = current(c.server).functions.get(argv[1].lower())
    return None if f is None else f.flags


def _writes(c: Client, cmd: Command, argv: list[bytes]) -> bool:
    """Redis's is_may_replicate_command for one command (a script by the flags it declared:
    a script that declared no-writes is neither a write nor may replicate)."""
    if cmd.write:
        return True
    if cmd.name not in MAY_REPLICATE:
        return False
    if cmd.name in ("eval", "evalsha", "fcall"):
        flags = _declared_flags(c, cmd.name, argv)
        if flags is not None:
            return "no-writes" not in flags
    return True


class Pause:
    def __init__(self) -> None:
        self.end = 0.0  # time.monotonic() when the pause ends; 0: no pause
        self.all = False

    def pause(self, ms: int, all_commands: bool) -> None:
        now = time.monotonic()
        if not self.active(now):
            self.all = all_commands
            self.end = now + ms / 1000
            return
        self.all = self.all or all_commands
        self.end = max(self.end, now + ms / 1000)

    def unpause(self) -> None:
        self.end = 0.0
        self.all = False

    def active(self, now: float | None = None) -> bool:
        if not self.end:
            return False
        if (time.monotonic() if now is None else now) >= self.end:
            self.unpause()
            return False
        return True

    def covers(self, c: Client, cmd: Command, argv: list[bytes]) -> bool:
        if not self.active():
            return False
        if self.all or _writes(c, cmd, argv):
            return True
        return cmd.name == "exec" and c.multi is not None and any(_writes(c, q, a) for q, a in c.multi)

    def postpone(self, c: Client, argv: list[bytes]) -> Blocked:
        return Postponed(self, c, argv)


class Postponed(Blocked):
    """A command held by a pause: when the pause is over it goes back in front of the
    connection's held commands and runs as if it had just arrived."""

    __slots__ = ("pause", "argv")

    def __init__(self, pause: Pause, c: Client, argv: list[bytes]) -> None:
        super().__init__(lambda: None, None, lambda: NO_REPLY)
        self.pause = pause
        self.argv = argv
        self.client = c

    def poll(self, now: float) -> tuple[bool, Any]:
        if self.pause.active(now):
            return False, None
        self.client.requeue(self.argv)
        return True, NO_REPLY
