"""Server administration: ROLE, LASTSAVE, SAVE, BGSAVE, BGREWRITEAOF, LOLWUT, CONFIG REWRITE,
DEBUG (refused at dispatch unless ``enable-debug-command`` allows it, as Redis 7: see
Client.dispatch). Snapshots: server/persistence.py."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from crdt.types.strings import Assign
from server import errors
from server.commands.common import TYPE_COMMANDS, int_arg
from server.commands.debug_digest import dataset_digest, digest_values
from server.commands.registry import command
from server.config_rewrite import RewriteError, rewrite
from server.config_types import memtoull
from server.diskguard import debug_set_disk_fault
from server.info import REDIS_VERSION
from server.lolwut import lolwut5
from server.replicas.status import role_replicas
from server.resp import OK, Error, Raw, Status, Verbatim

if TYPE_CHECKING:
    from server.connection import Client

BGSAVE_RUNNING = "ERR Background save already in progress"
REWRITE_RUNNING = "ERR Background append only file rewriting already in progress"


@command("role")
def cmd_role(c: Client, argv: list[bytes]) -> Any:
    """Every region is a primary (peers are not replicas); its Redis replicas are listed."""
    replicas = c.server.replicas
    return [b"master", replicas.offset, role_replicas(replicas)]


@command("lastsave")
def cmd_lastsave(c: Client, argv: list[bytes]) -> Any:
    return c.server.persistence.lastsave()


@command("save")
def cmd_save(c: Client, argv: list[bytes]) -> Any:
    p = c.server.persistence
    if p.in_progress() and p.child == "rdb":
        raise Error(BGSAVE_RUNNING)
    if p.enabled and not p.save():
        raise Error("ERR")
    return OK


@command("bgsave")
def cmd_bgsave(c: Client, argv: list[bytes]) -> Any:
    schedule = False
    if len(argv) > 1:
        if len(argv) == 2 and argv[1].lower() == b"schedule":
            schedule = True
        else:
            raise Error(errors.SYNTAX)
    p = c.server.persistence
    if p.in_progress():
        if p.child == "rdb":
            raise Error(BGSAVE_RUNNING)
        if not schedule:
            raise Error("ERR Another child process is active (AOF?): can't BGSAVE right now. "
                        "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
    if p.in_progress() or c.in_exec:
        p.scheduled = p.scheduled or "rdb"
        return Status("Background saving scheduled")
    p.bgsave("rdb")
    return Status("Background saving started")


@command("bgrewriteaof")
def cmd_bgrewriteaof(c: Client, argv: list[bytes]) -> Any:
    """A background snapshot; the op log segments it covers (and every peer has) are then
    dropped by the replicator's periodic truncation."""
    p = c.server.persistence
    if p.in_progress() and p.child == "aof":
        raise Error(REWRITE_RUNNING)
    if p.in_progress() or c.in_exec:
        p.scheduled = "aof"
        return Status("Background append only file rewriting scheduled")
    p.bgsave("aof")
    return Status("Background append only file rewriting started")


@command("config|rewrite")
def cmd_config_rewrite(c: Client, argv: list[bytes]) -> Any:
    try:
        rewrite(c.server.config)
    except RewriteError as e:
        c.server.log.warning("CONFIG REWRITE failed: %s", e)
        raise Error(str(e)) from None
    c.server.log.info("CONFIG REWRITE executed with success.")
    return OK


# ----------------------------------------------------------------------------------- LOLWUT


@command("lolwut")
def cmd_lolwut(c: Client, argv: list[bytes]) -> Any:
    """LOLWUT [VERSION v] [args]: version 5 draws Schotter (server/lolwut.py); version 6's
    landscape is not drawn here: it, like every other version, answers the version line
    (Redis's own answer for versions without art)."""
    version = REDIS_VERSION
    args = argv[1:]
    if len(argv) >= 3 and argv[1].lower() == b"version":
        ver = int_arg(argv[2])
        version = f"{ver % 2**32}.0.0"
        args = argv[3:]
    if (version[:2] == "5." and version[2] != "9") or version.startswith("4.9"):
        return Verbatim(lolwut5([int_arg(a) for a in args[:3]], REDIS_VERSION))
    return Verbatim(f"Redis ver. {REDIS_VERSION}\n")


# ------------------------------------------------------------------------------------ DEBUG


def _debug_error(sub: bytes) -> Error:
    return Error("ERR unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP."
                 % sub.decode("utf-8", "replace"))


def _strtod(arg: bytes) -> float:
    """C's strtod: the longest numeric prefix (0 when there is none)."""
    text = arg.decode("ascii", "replace").strip()
    for end in range(len(text), 0, -1):
        try:
            return float(text[:end])
        except ValueError:
            continue
    return 0.0


@command("debug")
def cmd_debug(c: Client, argv: list[bytes]) -> Any:
    sub = argv[1].lower()
    n = len(argv)
    server = c.server
    if sub == b"help" and n == 2:
        return [Status(line) for line in DEBUG_HELP]
    if sub == b"sleep" and n == 3:
        time.sleep(max(0.0, _strtod(argv[2])))
        return OK
    if sub == b"object" and n == 3:
        entry = c.ks.dbs[c.db].peek(argv[2])  # Redis's dictFind: expired keys too
        if entry is None:
            raise Error(errors.NO_SUCH_KEY)
        content = entry.content()
        enc = TYPE_COMMANDS[entry.kind].encoding(content, server.config).decode()
        return Status(f"Value at:0x{id(content):x} refcount:1 encoding:{enc} "
                      f"serializedlength:0 lru:0 lru_seconds_idle:0")
    if sub == b"reload":
        for opt in argv[2:]:
            if opt.lower() not in (b"merge", b"noflush", b"nosave"):
                raise Error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
        if b"nosave" not in {a.lower() for a in argv[2:]} and server.persistence.enabled:
            if not server.persistence.save():
                raise Error("ERR Error trying to save the DB, can't reload")
        return OK
    if sub == b"set-active-expire" and n == 3:
        server.active_expire = _atoi(argv[2]) != 0
        return OK
    if sub == b"set-disable-deny-scripts" and n == 3:
        server.script_disable_deny = _atoi(argv[2]) != 0  # noscript commands run from Lua
        return OK
    if sub == b"set-skip-checksum-validation" and n == 3:
        server.skip_checksum_validation = _atoi(argv[2]) != 0  # RESTORE's CRC64 (verify_payload)
        return OK
    if sub == b"log" and n == 3:
        server.log.warning("DEBUG LOG: %s", argv[2].decode("utf-8", "replace"))
        return OK
    if sub == b"error" and n == 3:
        return Error(argv[2].decode("utf-8", "replace"))
    if sub == b"populate" and 3 <= n <= 5:
        return _debug_populate(c, argv)
    if sub == b"quicklist-packed-threshold" and n == 3:
        # Only a list's node layout depends on it (not observable here); Redis's bounds.
        size = memtoull(argv[2].decode("utf-8", "replace"))
        if size is None or size > (1 << 32) - (1 << 20):
            raise Error("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
        return OK
    if sub == b"change-repl-id" and n == 2:
        return OK  # regions have no replication id to change
    if sub == b"digest-value":
        return [Status(d) for d in digest_values(c, argv[2:])]
    if sub == b"digest" and n == 2:
        return Status(dataset_digest(c))
    if sub == b"protocol" and n == 3:
        return _debug_protocol(argv[2].lower().decode("utf-8", "replace"), c.resp3)
    if sub == b"set-disk-fault" and n == 3 and debug_set_disk_fault(server, argv[2]):
        return OK  # tests only: debug-disk-faults yes (server/diskguard.py)
    raise _debug_error(argv[1])


def _debug_populate(c: Client, argv: list[bytes]) -> Any:
    """DEBUG POPULATE count [prefix] [size]: keys ``prefix:N`` (``key:N``) holding ``value:N``
    (cut or zero-padded to ``size``), skipping existing keys. Unlike Redis (which does not
    propagate them) they are ordinary writes here: regions must converge."""
    count = int_arg(argv[2], errors.NOT_POSITIVE)  # getPositiveLongFromObjectOrReply
    if count < 0:
        raise Error(errors.NOT_POSITIVE)
    size = 0
    if len(argv) == 5:
        size = int_arg(argv[4], errors.NOT_POSITIVE)
        if size < 0:
            raise Error(errors.NOT_POSITIVE)
    prefix = argv[3] if len(argv) >= 4 else b"key"
    db = c.ks.dbs[c.db]
    for j in range(count):
        key = b"%s:%d" % (prefix, j)
        if db.exists(key, c.ks.now_ms):
            continue
        value = b"value:%d" % j
        if size:
            value = value[:size].ljust(size, b"\0")
        c.ks.emit(Assign(c.db, key, value, 0))
    return OK


_PROTOCOL = {  # DEBUG PROTOCOL <type>: Redis 7.0.15's bytes, RESP2 and RESP3
    "string": (b"$11\r\nHello World\r\n",) * 2,
    "integer": (b":12345\r\n",) * 2,
    "double": (b"$5\r\n3.141\r\n", b",3.141\r\n"),
    "bignum": (b"$37\r\n1234567999999999999999999999999999999\r\n",
               b"(1234567999999999999999999999999999999\r\n"),
    "null": (b"$-1\r\n", b"_\r\n"),
    "array": (b"*3\r\n:0\r\n:1\r\n:2\r\n",) * 2,
    "set": (b"*3\r\n:0\r\n:1\r\n:2\r\n", b"~3\r\n:0\r\n:1\r\n:2\r\n"),
    "map": (b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n",
            b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"),
    "attrib": (b"$39\r\nSome real reply following the attribute\r\n",
               b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"
               b"$39\r\nSome real reply following the attribute\r\n"),
    "push": (b"-ERR RESP2 is not supported by this command\r\n",
             b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n"
             b"$40\r\nSome real reply following the push reply\r\n"),
    "verbatim": (b"$25\r\nThis is a verbatim\nstring\r\n", b"=29\r\ntxt:This is a verbatim\nstring\r\n"),
    "true": (b":1\r\n", b"#t\r\n"),
    "false": (b":0\r\n", b"#f\r\n"),
}


def _debug_protocol(name: str, resp3: bool) -> Any:
    replies = _PROTOCOL.get(name)
    if replies is None:
        raise Error("ERR Wrong protocol type name. Please use one of the following: "
                    "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
    if name == "push" and not resp3:
        raise Error("ERR RESP2 is not supported by this command")
    return Raw(replies[resp3])


def _atoi(arg: bytes) -> int:
    text = arg.decode("ascii", "replace").strip()
    digits = ""
    for i, ch in enumerate(text):
        if ch.isdigit() or (i == 0 and ch in "+-"):
            digits += ch
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0


DEBUG_HELP: tuple[str, ...] = (
    'DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'AOF-FLUSH-SLEEP <microsec>',
    '    Server will sleep before flushing the AOF, this is used for testing.',
    'ASSERT',
    '    Crash by assertion failed.',
    'CHANGE-REPL-ID',
    '    Change the replication IDs of the instance.',
    '    Dangerous: should be used only for testing the replication subsystem.',
    'CONFIG-REWRITE-FORCE-ALL',
    '    Like CONFIG REWRITE but writes all configuration options, including',
    '    keywords not listed in original configuration file or default values.',
    'CRASH-AND-RECOVER [<milliseconds>]',
    '    Hard crash and restart after a <milliseconds> delay (default 0).',
    'DIGEST',
    '    Output a hex signature representing the current DB content.',
    'DIGEST-VALUE <key> [<key> ...]',
    '    Output a hex signature of the values of all the specified keys.',
    'ERROR <string>',
    '    Return a Redis protocol error with <string> as message. Useful for clients',
    '    unit tests to simulate Redis errors.',
    'LEAK <string>',
    '    Create a memory leak of the input string.',
    'LOG <message>',
    '    Write <message> to the server log.',
    'HTSTATS <dbid>',
    '    Return hash table statistics of the specified Redis database.',
    'HTSTATS-KEY <key>',
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    'LOADAOF',
    '    Flush the AOF buffers on disk and reload the AOF in memory.',
    'REPLICATE <string>',
    '    Replicates the provided string to replicas, allowing data divergence.',
    'MALLCTL <key> [<val>]',
    '    Get or set a malloc tuning integer.',
    'MALLCTL-STR <key> [<val>]',
    '    Get or set a malloc tuning string.',
    'OBJECT <key>',
    '    Show low level info about `key` and associated value.',
    'DROP-CLUSTER-PACKET-FILTER <packet-type>',
    '    Drop all packets that match the filtered type. Set to -1 allow all packets.',
    'OOM',
    '    Crash the server simulating an out-of-memory error.',
    'PANIC',
    '    Crash the server simulating a panic.',
    'POPULATE <count> [<prefix>] [<size>]',
    '    Create <count> string keys named key:<num>. If <prefix> is specified then',
    "    it is used instead of the 'key' prefix. These are not propagated to",
    '    replicas. Cluster slots are not respected so keys not belonging to the',
    '    current node can be created in cluster mode.',
    'PROTOCOL <type>',
    '    Reply with a test value of the specified type. <type> can be: string,',
    '    integer, double, bignum, null, array, set, map, attrib, push, verbatim,',
    '    true, false.',
    'RELOAD [option ...]',
    '    Save the RDB on disk and reload it back to memory. Valid <option> values:',
    '    * MERGE: conflicting keys will be loaded from RDB.',
    '    * NOFLUSH: the existing database will not be removed before load, but',
    '      conflicting keys will generate an exception and kill the server.',
    '    * NOSAVE: the database will be loaded from an existing RDB file.',
    '    Examples:',
    '    * DEBUG RELOAD: verify that the server is able to persist, flush and reload',
    '      the database.',
    '    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an',
    '      existing RDB file.',
    '    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB',
    '      file to the database.',
    'RESTART [<milliseconds>]',
    '    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).',
    'SDSLEN <key>',
    '    Show low level SDS string info representing `key` and value.',
    'SEGFAULT',
    '    Crash the server with sigsegv.',
    'SET-ACTIVE-EXPIRE <0|1>',
    '    Setting it to 0 disables expiring keys in background when they are not',
    '    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the',
    '    default.',
    'QUICKLIST-PACKED-THRESHOLD <size>',
    '    Sets the threshold for elements to be inserted as plain vs packed nodes',
    '    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.',
    'SET-SKIP-CHECKSUM-VALIDATION <0|1>',
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    'SLEEP <seconds>',
    '    Stop the server for <seconds>. Decimals allowed.',
    'STRINGMATCH-TEST',
    '    Run a fuzz tester against the stringmatchlen() function.',
    'STRUCTSIZE',
    '    Return the size of different Redis core C structures.',
    'LISTPACK <key>',
    '    Show low level info about the listpack encoding of <key>.',
    'QUICKLIST <key> [<0|1>]',
    '    Show low level info about the quicklist encoding of <key>.',
    '    The optional argument (0 by default) sets the level of detail',
    'CLIENT-EVICTION',
    '    Show low level client eviction pools info (maxmemory-clients).',
    'PAUSE-CRON <0|1>',
    '    Stop periodic cron job processing.',
    'REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>',
    '    Sets the time (in milliseconds) to wait between client reply buffer peak resets.',
    '    In case NEVER is provided the last observed peak will never be reset',
    '    In case RESET is provided the peak reset time will be restored to the default value',
    'REPLYBUFFER RESIZING <0|1>',
    '    Enable or disable the reply buffer resize cron job',
    'CLUSTERLINK KILL <to|from|all> <node-id>',
    '    Kills the link based on the direction to/from (both) with the provided node.',
    'HELP',
    '    Prints this help.',
)
