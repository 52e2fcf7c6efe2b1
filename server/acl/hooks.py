"""What the connection code asks of the ACLs (Redis's processCommand and execCommand checks,
ACLAuthenticateUser, clientSetDefaultAuth, ACLFreeUserAndKillClients) and the ACL log
entries they make."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server import errors
from server.acl import check as acl_check
from server.acl.log import Entry
from server.acl.users import User
from server.resp import Error

if TYPE_CHECKING:
    from server.app import Server
    from server.commands.registry import Command
    from server.connection import Client

EXEC_REASONS = {
    acl_check.DENIED_CMD: "no permission to execute the command or subcommand",
    acl_check.DENIED_KEY: "no permission to touch the specified keys",
    acl_check.DENIED_CHANNEL: "no permission to access one of the channels used as arguments",
}



def _context(c: Client) -> str:
    return "multi" if c.multi is not None or c.in_exec else "toplevel"


def add_log_entry(c: Client, reason: str, obj: bytes, username: bytes | None = None,
                  context: str | None = None) -> None:
    server = c.server
    server.acl.log.add(Entry(reason, context or _context(c), obj,
                             c.user.name if username is None else username,
                             server.tick(), server.acl.client_info(c).rstrip("\n")))


def _denied(c: Client, cmd: Command, argv: list[bytes]) -> tuple[int, int]:
    acl = c.server.acl
    return acl_check.check(c.user, acl.table.ids[cmd.name], cmd.spec, argv)


def _log_denial(c: Client, cmd: Command, argv: list[bytes], result: int, pos: int,
                context: str | None = None) -> None:
    obj = cmd.name.encode() if result == acl_check.DENIED_CMD else argv[pos]
    add_log_entry(c, acl_check.REASONS[result], obj, context=context)


def permission_error(c: Client, cmd: Command, argv: list[bytes]) -> Error | None:
    """processCommand's ACL check: None when the client's user may run this call, else the
    NOPERM error (and an ACL LOG entry)."""
    result, pos = _denied(c, cmd, argv)
    if not result:
        return None
    c.last_cmd = cmd.name  # Redis sets lastcmd before the check (the log's client-info)
    _log_denial(c, cmd, argv, result, pos)
    if result == acl_check.DENIED_CMD:
        return Error(errors.NOPERM_COMMAND % cmd.name)
    return Error(errors.NOPERM_KEY if result == acl_check.DENIED_KEY else errors.NOPERM_CHANNEL)


def exec_permission_error(c: Client, cmd: Command, argv: list[bytes]) -> Error | None:
    """execCommand's re-check of a queued command (the rules may have changed)."""
    result, pos = _denied(c, cmd, argv)
    if not result:
        return None
    _log_denial(c, cmd, argv, result, pos, context="multi")
    return Error(errors.NOPERM_EXEC % EXEC_REASONS[result])


def authenticate(c: Client, command: bytes, username: bytes, password: bytes) -> bool:
    """ACLAuthenticateUser: on success the connection is that user's, authenticated; else
    an ACL LOG entry whose object is the command as typed (``AUTH``, ``hello``)."""
    user = c.server.acl.authenticate(username, password)
    if user is None:
        add_log_entry(c, "auth", command, username=username)
        return False
    c.user = user
    c.authenticated = True
    c.reader.requires_auth = False
    return True


def reset_auth(c: Client) -> None:
    """clientSetDefaultAuth (RESET): the default user, authenticated if it needs no password."""
    acl = c.server.acl
    c.user = acl.default
    c.authenticated = not acl.default_needs_auth
    c.reader.requires_auth = not c.authenticated


def refresh_auth(server: Server) -> None:
    """The default user changed: the unauthenticated request limits follow authRequired."""
    needs = server.acl.default_needs_auth
    for client in server.clients.values():
        client.reader.requires_auth = needs and not client.authenticated


def drop_users_clients(c: Client, users: list[User]) -> None:
    """ACLFreeUserAndKillClients: connections of deleted users close (the caller's after its
    reply)."""
    if not users:
        return
    default = c.server.acl.default
    for other in list(c.server.clients.values()):
        if any(other.user is u for u in users):
            other.user = default
            other.authenticated = False
            if other is c:
                c.close_after_reply()
            else:
                other.kill()
