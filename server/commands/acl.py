"""ACL SETUSER/GETUSER/DELUSER/LIST/USERS/WHOAMI/CAT/GENPASS/LOG/SAVE/LOAD/DRYRUN/HELP (Redis
7.0's aclCommand). The users live in :mod:`server.acl` (``Server.acl``); the checks the
connection code makes are in :mod:`server.acl.hooks`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from server import errors
from server.acl import check as acl_check
from server.acl.hooks import drop_users_clients, refresh_auth
from server.acl.table import CATEGORIES
from server.acl.users import USER_FLAGS, RuleError, Selector, User, has_spaces, merge_selector_args
from server.commands.common import int_arg
from server.commands.registry import command
from server.glob import matches
from server.pubsub import CHANNEL, PATTERN, SHARD
from server.resp import OK, Error, Map, RSet, Status

if TYPE_CHECKING:
    from server.connection import Client

ACL_HELP: tuple[str, ...] = (
    'ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'CAT [<category>]',
    '    List all commands that belong to <category>, or all command categories',
    '    when no category is specified.',
    'DELUSER <username> [<username> ...]',
    '    Delete a list of users.',
    'DRYRUN <username> <command> [<arg> ...]',
    '    Returns whether the user can execute the given command without executing the command.',
    'GETUSER <username>',
    "    Get the user's details.",
    'GENPASS [<bits>]',
    '    Generate a secure 256-bit user password. The optional `bits` argument can',
    '    be used to specify a different size.',
    'LIST',
    '    Show users details in config file format.',
    'LOAD',
    '    Reload users from the ACL file.',
    'LOG [<count> | RESET]',
    '    Show the ACL log entries.',
    'SAVE',
    '    Save the current config to the ACL file.',
    'SETUSER <username> <attribute> [<attribute> ...]',
    '    Create or modify a user with the specified attributes.',
    'USERS',
    '    List all the registered usernames.',
    'WHOAMI',
    '    Return the current connection username.',
    'HELP',
    '    Prints this help.',
)

GENPASS_MAX_BITS = 4096


def _text(data: bytes) -> str:
    """An argument in an error message: Redis's %s (up to a NUL byte), its bytes as sent."""
    return data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _bulk(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


# -- ACL subcommands -----------------------------------------------------------------------------


def _syntax(argv: list[bytes]) -> Error:
    return Error(errors.ACL_SUBCOMMAND_SYNTAX % argv[1].decode("utf-8", "replace"))


@command("acl|setuser")
def cmd_acl_setuser(c: Client, argv: list[bytes]) -> Any:
    username = argv[2]
    if has_spaces(username):
        raise Error(errors.ACL_USERNAME_SPACES)
    merged = merge_selector_args(argv[3:])
    if isinstance(merged, int):
        raise Error(errors.ACL_UNMATCHED_PAREN % _text(argv[3 + merged]))
    acl = c.server.acl
    try:
        staged = acl.staged(username, merged)
    except RuleError as exc:
        raise Error(errors.ACL_SETUSER_MODIFIER % (_text(exc.rule), exc.reason)) from None
    original = acl.users.get(username)
    if original is not None:
        _kill_revoked_subscribers(c, staged, original)
    user = acl.commit(staged)
    if user is acl.default:
        refresh_auth(c.server)
    return OK


def _kill_revoked_subscribers(c: Client, staged: User, original: User) -> None:
    """Redis 7.0's ACLKillPubsubClientsIfNeeded: a subscribed client of the user that holds a
    subscription the new rules no longer allow is disconnected (a pattern must be one of the
    allowed patterns literally, a channel or shard channel match one)."""
    if any(s.allchannels for s in staged.selectors):
        return
    upcoming = [ch for s in staged.selectors for ch in s.channels]
    for other in list(c.server.clients.values()):
        subs = other.subs
        if other.user is not original or subs is None or not any(subs.kinds):
            continue
        if (any(p not in upcoming for p in subs.kinds[PATTERN])
                or any(not any(matches(a, ch) for a in upcoming)
                       for kind in (CHANNEL, SHARD) for ch in subs.kinds[kind])):
            other.user = c.server.acl.default  # deauthenticateAndCloseClient
            other.authenticated = False
            if other is c:
                c.close_after_reply()
            else:
                other.kill()


@command("acl|getuser")
def cmd_acl_getuser(c: Client, argv: list[bytes]) -> Any:
    user = c.server.acl.users.get(argv[2])
    if user is None:
        return None

    def selector_fields(s: Selector) -> list[tuple[str, Any]]:
        return [("commands", _bulk(s.command_rules())), ("keys", _bulk(" ".join(s.key_rules()))),
                ("channels", _bulk(" ".join(s.channel_rules())))]

    return Map([
        ("flags", RSet([f for f in USER_FLAGS if f in user.flags])),
        ("passwords", list(user.passwords)),
        *selector_fields(user.root),
        ("selectors", [Map(selector_fields(s)) for s in user.selectors[1:]]),
    ])


@command("acl|deluser")
def cmd_acl_deluser(c: Client, argv: list[bytes]) -> Any:
    acl = c.server.acl
    if any(name == b"default" for name in argv[2:]):
        raise Error(errors.ACL_DELUSER_DEFAULT)
    deleted: list[User] = []
    for name in argv[2:]:
        user = acl.users.pop(name, None)
        if user is not None:
            deleted.append(user)
    drop_users_clients(c, deleted)
    return len(deleted)


@command("acl|list")
def cmd_acl_list(c: Client, argv: list[bytes]) -> Any:
    return [_bulk(u.acl_line()) for u in c.server.acl.sorted_users()]


@command("acl|users")
def cmd_acl_users(c: Client, argv: list[bytes]) -> Any:
    return [u.name for u in c.server.acl.sorted_users()]


@command("acl|whoami")
def cmd_acl_whoami(c: Client, argv: list[bytes]) -> Any:
    return c.user.name


@command("acl|cat")
def cmd_acl_cat(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise _syntax(argv)
    if len(argv) == 2:
        return list(CATEGORIES)
    name = argv[2].decode("latin-1").lower()
    if name not in CATEGORIES:
        raise Error(errors.ACL_UNKNOWN_CATEGORY % errors.arg_text(argv[2][:128]))
    return [cmd.name for cmd in c.server.acl.table.commands if name in cmd.categories]


@command("acl|genpass")
def cmd_acl_genpass(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise _syntax(argv)
    bits = int_arg(argv[2]) if len(argv) == 3 else 256
    if bits <= 0 or bits > GENPASS_MAX_BITS:
        raise Error(errors.ACL_GENPASS_BITS)
    chars = (bits + 3) // 4
    return os.urandom((chars + 1) // 2).hex()[:chars].encode()


@command("acl|log")
def cmd_acl_log(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise _syntax(argv)
    log = c.server.acl.log
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            log.reset()
            return OK
        count = max(int_arg(argv[2]), 0)
    return log.reply(count, c.server.tick())


def _need_file(c: Client) -> None:
    if not c.server.acl.filename:
        raise Error(errors.ACL_NO_FILE)


@command("acl|load")
def cmd_acl_load(c: Client, argv: list[bytes]) -> Any:
    _need_file(c)
    problem, dropped = c.server.acl.load_file()
    if problem is not None:
        raise Error("ERR " + problem)
    drop_users_clients(c, dropped)
    refresh_auth(c.server)
    return OK


@command("acl|save")
def cmd_acl_save(c: Client, argv: list[bytes]) -> Any:
    _need_file(c)
    if not c.server.acl.save_file():
        raise Error(errors.ACL_SAVE_FAILED)
    return OK


@command("acl|dryrun")
def cmd_acl_dryrun(c: Client, argv: list[bytes]) -> Any:
    acl = c.server.acl
    user = acl.users.get(argv[2])
    if user is None:
        raise Error(errors.ACL_NO_USER % _text(argv[2]))
    args = argv[3:]
    cmd = c.server.table.get(args[0].lower())
    if cmd is not None and cmd.subcommands and len(args) > 1:
        cmd = cmd.subcommands.get(args[1].lower())
    if cmd is None:
        raise Error(errors.ACL_NO_COMMAND % _text(args[0]))
    if not cmd.spec.arity_ok(len(args)):
        raise Error(errors.wrong_arity(cmd.name))
    result, pos = acl_check.check(user, acl.table.ids[cmd.name], cmd.spec, args)
    if result == acl_check.DENIED_CMD:
        return f"This user has no permissions to run the '{cmd.name}' command".encode()
    if result:
        what = "key" if result == acl_check.DENIED_KEY else "channel"
        return b"This user has no permissions to access the '%s' %s" % (args[pos], what.encode())
    return OK


@command("acl|help")
def cmd_acl_help(c: Client, argv: list[bytes]) -> Any:
    return [Status(line) for line in ACL_HELP]
