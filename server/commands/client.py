"""CLIENT ID/SETNAME/GETNAME/LIST/INFO/KILL/UNBLOCK/SETINFO/HELP (Redis 7.0's networking.c).

Every connection is a "normal" client (of its ACL user, ``user=``) but a subscribed one
("pubsub") and a Redis replica's after its SYNC/PSYNC ("replica", flag ``S``); there are no
masters.

CLIENT LIST / CLIENT INFO lines have Redis 7.0.15's fields in Redis's order; the values
that describe Redis's internal buffers are ours: ``qbuf`` is what the request reader still
holds (for the client running CLIENT LIST/INFO: its whole read, as Redis trims its query
buffer only after the read's commands ran), ``qbuf-free`` 0, ``argv-mem`` the size of the arguments of the command running,
``multi-mem`` the size of the queued MULTI commands' arguments, ``rbs``/``rbp`` 0 (no reply
buffer: replies are written once per read), ``omem`` the transport's write buffer, ``tot-mem``
what client eviction measures (server/client_eviction.py: those, and Redis's overheads). ``flags``: ``x`` in MULTI, ``d`` a WATCHed key changed, ``c`` closing after
the reply, ``b`` blocked (or held by CLIENT PAUSE), ``e`` CLIENT NO-EVICT on, else ``N``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from server import errors, helptext
from server.client_eviction import memory_fields
from server.commands.common import int_arg
from server.commands.connection import valid_client_name
from server.commands.registry import command
from server.pause import Postponed
from server.resp import OK, Error, Status, Verbatim

if TYPE_CHECKING:
    from server.acl.users import User
    from server.connection import Client

CLIENT_TYPES = {b"normal", b"slave", b"replica", b"pubsub", b"master"}
def client_type(name: bytes) -> str:
    t = name.lower()
    if t not in CLIENT_TYPES:
        raise Error(errors.CLIENT_UNKNOWN_TYPE % errors.arg_text(name))
    return "replica" if t == b"slave" else t.decode()


def type_of(c: Client) -> str:
    """Redis's getClientType: a Redis replica's connection (after SYNC/PSYNC) is "replica",
    subscribed clients are "pubsub", the others "normal"."""
    if c.server.replicas.links and c.server.replicas.is_replica(c):
        return "replica"
    return "pubsub" if c.subs is not None else "normal"


def client_memory(c: Client) -> int:
    """CLIENT LIST's ``tot-mem`` of ``c`` (INFO memory's ``mem_clients_normal`` sums it)."""
    return memory_fields(c)[3]


def client_info_line(c: Client, now: float | None = None) -> str:
    """One CLIENT LIST line (with its trailing newline)."""
    now = time.monotonic() if now is None else now
    flags = ""
    if c in c.server.monitors:
        flags += "O"
    elif c.server.replicas.links and c.server.replicas.is_replica(c):
        flags += "S"
    if c.subs is not None:
        flags += "P"
    if c.multi is not None:
        flags += "x"
    if c.blocked is not None and c.blocked.unblockable:  # a blocking command, or one held by CLIENT PAUSE
        flags += "b"
    tracking = c.tracking
    if tracking is not None:
        flags += "t" + ("R" if tracking.broken_redirect else "") + ("B" if tracking.bcast else "")
    if c.watch_dirty:
        flags += "d"
    if c.closing:
        flags += "c"
    if c.no_evict:
        flags += "e"
    if c.no_touch:  # Redis 7.2's flag
        flags += "T"
    qbuf, multi_mem, omem, tot_mem = memory_fields(c)  # tot-mem: what client eviction measures
    subs = c.subs.kinds if c.subs is not None else ((), (), ())
    return (
        f"id={c.id} addr={c.addr} laddr={c.laddr} fd={c.fd} "
        f"name={c.name.decode('ascii', 'replace')} "
        f"age={int(now - c.created)} idle={int(now - c.last_interaction)} "
        f"flags={flags or 'N'} db={c.db} sub={len(subs[0])} psub={len(subs[1])} ssub={len(subs[2])} "
        f"multi={len(c.multi) if c.multi is not None else -1} "
        f"qbuf={qbuf} qbuf-free=0 argv-mem={c.argv_mem} multi-mem={multi_mem} "
        f"rbs=0 rbp=0 obl=0 oll=0 omem={omem} "
        f"tot-mem={tot_mem} events={'rw' if omem else 'r'} "
        f"cmd={c.last_cmd} user={c.user.name.decode('utf-8', 'replace')} redir={tracking.redirect if tracking is not None else -1} resp={3 if c.resp3 else 2}\n"
    )


@command("client|id")
def cmd_client_id(c: Client, argv: list[bytes]) -> Any:
    return c.id


@command("client|setname")
def cmd_client_setname(c: Client, argv: list[bytes]) -> Any:
    if not valid_client_name(argv[2]):
        raise Error(errors.CLIENT_NAME_CHARS)
    c.name = argv[2]
    return OK


@command("client|getname")
def cmd_client_getname(c: Client, argv: list[bytes]) -> Any:
    return c.name or None


@command("client|info")
def cmd_client_info(c: Client, argv: list[bytes]) -> Any:
    return Verbatim(client_info_line(c))


@command("client|list")
def cmd_client_list(c: Client, argv: list[bytes]) -> Any:
    clients = c.server.clients
    now = time.monotonic()
    if len(argv) == 2:
        chosen = list(clients.values())
    elif len(argv) == 4 and argv[2].lower() == b"type":
        wanted = client_type(argv[3])
        chosen = [other for other in clients.values() if type_of(other) == wanted]
    elif len(argv) > 3 and argv[2].lower() == b"id":
        chosen = []
        for arg in argv[3:]:
            other = clients.get(int_arg(arg, errors.CLIENT_INVALID_ID))
            if other is not None:
                chosen.append(other)
    else:
        raise Error(errors.SYNTAX)
    return Verbatim("".join(client_info_line(other, now) for other in chosen))


def _client_id_arg(arg: bytes) -> int:
    try:
        cid = int_arg(arg)
    except Error:
        cid = 0
    if cid < 1 or cid > 2**63 - 1:
        raise Error(errors.CLIENT_ID_POSITIVE)
    return cid


@command("client|kill")
def cmd_client_kill(c: Client, argv: list[bytes]) -> Any:
    """CLIENT KILL addr (old form: OK or "No such client", may kill the caller) or
    CLIENT KILL <filter> <value> ... (ID ADDR LADDR TYPE USER SKIPME: the number killed)."""
    addr = laddr = None
    cid = 0
    ctype: str | None = None
    user: User | None = None
    skipme = True
    if len(argv) == 3:
        addr = argv[2].decode("utf-8", "surrogateescape")
        skipme = False  # with the old form you can kill yourself
    else:
        i = 2
        while i < len(argv):
            opt, more = argv[i].lower(), i + 1 < len(argv)
            if opt == b"id" and more:
                cid = _client_id_arg(argv[i + 1])
            elif opt == b"type" and more:
                ctype = client_type(argv[i + 1])
            elif opt == b"addr" and more:
                addr = argv[i + 1].decode("utf-8", "surrogateescape")
            elif opt == b"laddr" and more:
                laddr = argv[i + 1].decode("utf-8", "surrogateescape")
            elif opt == b"user" and more:
                user = c.server.acl.users.get(argv[i + 1])
                if user is None:
                    raise Error(errors.CLIENT_NO_SUCH_USER % errors.arg_text(argv[i + 1]))
            elif opt == b"skipme" and more:
                value = argv[i + 1].lower()
                if value not in (b"yes", b"no"):
                    raise Error(errors.SYNTAX)
                skipme = value == b"yes"
            else:
                raise Error(errors.SYNTAX)
            i += 2
    killed = 0
    for other in list(c.server.clients.values()):
        if addr is not None and other.addr != addr:
            continue
        if laddr is not None and other.laddr != laddr:
            continue
        if ctype is not None and ctype != type_of(other):
            continue
        if cid and other.id != cid:
            continue
        if user is not None and other.user is not user:
            continue
        if other is c and skipme:
            continue
        if other is c:
            c.close_after_reply()
        else:
            other.kill()
        killed += 1
    if len(argv) == 3:
        if not killed:
            raise Error(errors.CLIENT_NO_SUCH_CLIENT)
        return OK
    return killed


UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK"


@command("client|unblock")
def cmd_client_unblock(c: Client, argv: list[bytes]) -> Any:
    """CLIENT UNBLOCK id [TIMEOUT|ERROR]: a client blocked (BLPOP..., WAIT, CRDT.WAITTOKEN)
    gets its timeout reply, or the UNBLOCKED error; 1 if it was blocked, else 0."""
    if len(argv) > 4:  # Redis's clientCommand checks this itself, naming the subcommand as typed
        raise Error(errors.CLIENT_UNKNOWN_SUBCOMMAND % errors.arg_text(argv[1]))
    as_error = False
    if len(argv) == 4:
        reason = argv[3].lower()
        if reason not in (b"timeout", b"error"):
            raise Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        as_error = reason == b"error"
    target = c.server.clients.get(int_arg(argv[2]))
    if target is None or target.blocked is None or isinstance(target.blocked, Postponed) \
            or not target.blocked.unblockable:
        return 0  # a command held by CLIENT PAUSE is not blocked on a key: it waits on
    waiter = target.blocked
    c.server.unblock_waiter(waiter)
    # Redis 7.0 counts the unblocked command as failed either way (updateStatsOnUnblock)
    target.unblock(Error(UNBLOCKED) if as_error else waiter.on_timeout(), failed=True)
    return 1


@command("client|setinfo")
def cmd_client_setinfo(c: Client, argv: list[bytes]) -> Any:
    """CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2; spec hand-written in registry)."""
    if len(argv) != 4:
        raise Error(errors.CLIENT_UNKNOWN_SUBCOMMAND % argv[1].decode("utf-8", "replace")[:128])
    attr = argv[2].lower()
    if attr not in (b"lib-name", b"lib-ver"):
        raise Error(errors.CLIENT_UNRECOGNIZED_OPTION % argv[2].decode("utf-8", "replace"))
    if not valid_client_name(argv[3]):
        raise Error(errors.CLIENT_INFO_CHARS % argv[2].decode("utf-8", "replace"))
    if attr == b"lib-name":
        c.lib_name = argv[3]
    else:
        c.lib_ver = argv[3]
    return OK


@command("client|help")
def cmd_client_help(c: Client, argv: list[bytes]) -> Any:
    return [Status(line) for line in helptext.CLIENT_HELP]
