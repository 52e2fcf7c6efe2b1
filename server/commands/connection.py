"""Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET (Redis's server.c,
networking.c and acl.c; the users are server.acl's, ``requirepass`` is the default user's password)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server import errors
from server.acl import hooks as acl
from server.commands.common import int32_arg, int_arg
from server.commands.registry import command
from server.resp import NO_REPLY, OK, PONG, Error, Map, Status

if TYPE_CHECKING:
    from server.connection import Client

REDIS_VERSION = "7.0.15"


@command("ping")
def cmd_ping(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 2:
        raise Error(errors.wrong_arity("ping"))
    if c.subs is not None and not c.resp3:  # RESP2 pub/sub context: ["pong", arg or ""]
        return [b"pong", argv[1] if len(argv) > 1 else b""]
    return PONG if len(argv) == 1 else argv[1]


@command("echo")
def cmd_echo(c: Client, argv: list[bytes]) -> Any:
    return argv[1]


def authenticate(c: Client, command: bytes, username: bytes, password: bytes) -> None:
    if not acl.authenticate(c, command, username, password):
        c.server.log.warning("AUTH failed for client id=%d addr=%s", c.id, c.addr)
        raise Error(errors.WRONGPASS)


@command("auth")
def cmd_auth(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise Error(errors.SYNTAX)
    if len(argv) == 2:
        if c.server.acl.default.nopass:
            raise Error(errors.AUTH_NOT_CONFIGURED)
        authenticate(c, argv[0], b"default", argv[1])
    else:
        authenticate(c, argv[0], argv[1], argv[2])
    return OK


def valid_client_name(name: bytes) -> bool:
    return all(33 <= b <= 126 for b in name)


@command("hello")
def cmd_hello(c: Client, argv: list[bytes]) -> Any:
    proto = 2 if not c.resp3 else 3
    if len(argv) >= 2:
        proto = int_arg(argv[1], errors.PROTOCOL_VERSION)
        if proto < 2 or proto > 3:
            raise Error(errors.NOPROTO)
    # Options are processed in order, as Redis 7.0 does: AUTH authenticates at once and SETNAME
    # names the connection at once (clientSetNameOrReply), even if a later option is then
    # refused or the client is still unauthenticated (7.2 defers the name; 7.0 does not).
    i = 2
    while i < len(argv):
        opt = argv[i].lower()
        more = len(argv) - i - 1
        if opt == b"auth" and more >= 2:
            authenticate(c, argv[0], argv[i + 1], argv[i + 2])
            i += 3
        elif opt == b"setname" and more >= 1:
            name = argv[i + 1]
            if not valid_client_name(name):
                raise Error(errors.CLIENT_NAME_CHARS)
            c.name = name
            i += 2
        else:
            raise Error(errors.HELLO_OPTION_SYNTAX % errors.arg_text(argv[i]))
    if not c.authenticated:
        raise Error(errors.HELLO_NOAUTH)
    c.resp3 = proto == 3
    return Map([
        ("server", "redis"),
        ("version", REDIS_VERSION),
        ("proto", proto),
        ("id", c.id),
        ("mode", "standalone"),
        ("role", "master"),
        ("modules", []),
    ])


@command("select")
def cmd_select(c: Client, argv: list[bytes]) -> Any:
    db = int32_arg(argv[1])
    if db < 0 or db >= len(c.ks.dbs):
        raise Error(errors.DB_INDEX)
    c.db = db
    return OK


@command("quit")
def cmd_quit(c: Client, argv: list[bytes]) -> Any:
    c.close_after_reply()
    return OK


@command("monitor")
def cmd_monitor(c: Client, argv: list[bytes]) -> Any:
    if c in c.server.monitors:
        return NO_REPLY  # Redis ignores a second MONITOR without a reply
    c.server.monitors[c] = None
    return OK


@command("reset")
def cmd_reset(c: Client, argv: list[bytes]) -> Any:
    c.server.monitors.pop(c, None)  # a monitor leaves MONITOR mode
    if c.multi is not None:
        c.discard_multi()
    c.unwatch_all()
    c.server.pubsub.drop(c)
    c.server.tracking.disable(c)
    c.db = 0
    c.resp3 = False
    c.name = b""
    acl.reset_auth(c)
    return Status("RESET")
