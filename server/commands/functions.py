"""FUNCTION (LOAD, DELETE, LIST, FLUSH, DUMP, RESTORE, STATS, KILL, HELP), FCALL and FCALL_RO
(Redis's functions.c).

Libraries are replicated data (``crdt/types/library.py``): FUNCTION LOAD/DELETE/FLUSH/RESTORE
emit effects into the command's batch, so a library loaded in one region is callable in every
region, and the greatest timestamp wins among concurrent loads of one name. Each region
compiles what the registry holds (``server/scripting/functions.py``).

FUNCTION DUMP / RESTORE use Redis 7.0's payload (``server/rdb/functions.py``): a dump taken
from a redis-server restores here and the other way round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crdt.types.library import NO_DB, LibraryDelete, LibraryFlush, LibraryLoad
from server import errors
from server.commands.registry import command
from server.commands.scripting import keys_and_args, kill
from server.glob import matches
from server.monitor_feed import feed_script
from server.rdb.functions import PayloadError, dump_libraries, load_libraries
from server.rdb.objects import verify_payload
from server.resp import OK, Error, Map, RSet, Status
from server.scripting.engine import current_run
from server.scripting.functions import Library, compile_library, current, function_engine
from server.scripting.register import SCRIPT_FLAGS

if TYPE_CHECKING:
    from server.connection import Client

BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"

FUNCTION_HELP = (
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
)


def _subcommand_syntax(argv: list[bytes]) -> str:
    """Redis's addReplySubcommandSyntaxError."""
    return ("ERR unknown subcommand or wrong number of arguments for '%s'. Try FUNCTION HELP."
            % argv[1].decode("utf-8", "replace")[:128])


def _check_collisions(c: Client, libs: list[Library], replace: bool) -> None:
    """A library name that exists (without REPLACE), or a function name another library owns."""
    state = current(c.server)
    incoming = {lib.name for lib in libs}
    for lib in libs:
        if lib.name in state.libraries and not replace:
            name = lib.name.decode("utf-8", "replace")
            raise Error("ERR Library '%s' already exists" % name)
        for f in lib.functions:
            owner = state.functions.get(f.name.lower())
            if owner is not None and owner.library not in incoming and owner.library != lib.name:
                raise Error("ERR Function %s already exists" % f.name.decode("utf-8", "replace"))


@command("function|load")
def cmd_function_load(c: Client, argv: list[bytes]) -> Any:
    replace = False
    for opt in argv[2:-1]:
        if opt.lower() != b"replace":
            raise Error("ERR Unknown option given: %s"  # (addReplyErrorFormat trims CR/LF at the end)
                        % errors.arg_text(errors._cstr(opt).rstrip(b"\r\n")))
        replace = True
    lib = compile_library(function_engine(c.server), argv[-1])
    _check_collisions(c, [lib], replace)
    c.ks.emit(LibraryLoad(NO_DB, lib.name, lib.code))
    return lib.name


@command("function|delete")
def cmd_function_delete(c: Client, argv: list[bytes]) -> Any:
    if argv[2] not in current(c.server).libraries:
        raise Error("ERR Library not found")
    c.ks.emit(LibraryDelete(NO_DB, argv[2]))
    return OK


@command("function|flush")
def cmd_function_flush(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise Error(_subcommand_syntax(argv))
    if len(argv) == 3 and argv[2].lower() not in (b"sync", b"async"):
        raise Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    c.ks.emit(LibraryFlush(NO_DB))
    return OK


@command("function|list")
def cmd_function_list(c: Client, argv: list[bytes]) -> Any:
    pattern: bytes | None = None
    with_code = False
    i = 2
    while i < len(argv):
        arg = argv[i].lower()
        if arg == b"withcode" and not with_code:
            with_code = True
        elif arg == b"libraryname" and pattern is None:
            if i + 1 >= len(argv):
                raise Error("ERR library name argument was not given")
            i += 1
            pattern = argv[i]
        else:
            raise Error("ERR Unknown argument %s" % errors.arg_text(argv[i]))
        i += 1
    out = []
    for lib in current(c.server).libraries.values():
        if pattern is not None and not matches(pattern, lib.name, True):
            continue
        functions = [Map([("name", f.name), ("description", f.description),
                          ("flags", RSet([Status(flag) for flag in SCRIPT_FLAGS if flag in f.flags]))])
                     for f in lib.functions]
        items: list[tuple[Any, Any]] = [("library_name", lib.name), ("engine", "LUA"),
                                        ("functions", functions)]
        if with_code:
            items.append(("library_code", lib.code))
        out.append(Map(items))
    return out


@command("function|dump")
def cmd_function_dump(c: Client, argv: list[bytes]) -> Any:
    return dump_libraries([lib.code for lib in current(c.server).libraries.values()])


def _compile_payload(c: Client, codes: list[bytes]) -> list[Library]:
    """The payload's libraries compiled into a fresh library set, as functionRestoreCommand
    does before joining it with the current one: a name twice, or a function name two of them
    register, is refused."""
    eng = function_engine(c.server)
    libs: list[Library] = []
    names: set[bytes] = set()
    functions: set[bytes] = set()
    for code in codes:
        lib = compile_library(eng, code)
        if lib.name in names:
            raise Error("ERR Library '%s' already exists" % lib.name.decode("utf-8", "replace"))
        for f in lib.functions:
            if f.name.lower() in functions:
                raise Error("ERR Function %s already exists" % f.name.decode("utf-8", "replace"))
        names.add(lib.name)
        functions.update(f.name.lower() for f in lib.functions)
        libs.append(lib)
    return libs


def _join_check(c: Client, libs: list[Library], replace: bool) -> None:
    """libraryJoin: every library name first (refused without REPLACE), then every function
    name against the libraries that stay."""
    state = current(c.server)
    incoming = {lib.name for lib in libs}
    for lib in libs:
        if lib.name in state.libraries and not replace:
            raise Error("ERR Library %s already exists" % lib.name.decode("utf-8", "replace"))
    for lib in libs:
        for f in lib.functions:
            owner = state.functions.get(f.name.lower())
            if owner is not None and owner.library not in incoming:
                raise Error("ERR Function %s already exists" % f.name.decode("utf-8", "replace"))


@command("function|restore")
def cmd_function_restore(c: Client, argv: list[bytes]) -> Any:
    policy = b"append"
    if len(argv) > 4:
        raise Error(_subcommand_syntax(argv))
    if len(argv) == 4:
        policy = argv[3].lower()
        if policy not in (b"flush", b"append", b"replace"):
            raise Error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    payload = argv[2]
    if not verify_payload(payload, c.server.skip_checksum_validation):
        raise Error(BAD_PAYLOAD)
    try:
        codes = load_libraries(payload)
    except PayloadError as exc:
        raise Error("ERR %s" % exc) from None
    libs = _compile_payload(c, codes)
    if policy == b"flush":
        c.ks.emit(LibraryFlush(NO_DB))
    else:
        _join_check(c, libs, replace=policy == b"replace")
    for lib in libs:
        c.ks.emit(LibraryLoad(NO_DB, lib.name, lib.code))
    return OK


@command("function|stats")
def cmd_function_stats(c: Client, argv: list[bytes]) -> Any:
    import time

    run = current_run(c.server)
    running: Any = None
    if run is not None and not run.eval_mode:
        running = Map([("name", run.name), ("command", run.argv),
                       ("duration_ms", int((time.monotonic() - run.started) * 1000))])
    state = current(c.server)
    engines = Map([("LUA", Map([("libraries_count", len(state.libraries)),
                                ("functions_count", len(state.functions))]))])
    return Map([("running_script", running), ("engines", engines)])


@command("function|kill")
def cmd_function_kill(c: Client, argv: list[bytes]) -> Any:
    return kill(c, eval_mode=False)


@command("function|help")
def cmd_function_help(c: Client, argv: list[bytes]) -> Any:
    return [Status(line) for line in FUNCTION_HELP]


def _fcall(c: Client, argv: list[bytes], ro: bool) -> Any:
    feed_script(c, argv)
    f = current(c.server).functions.get(argv[1].lower())
    if f is None:
        raise Error("ERR Function not found")
    keys, args = keys_and_args(argv, not_integer="ERR Bad number of keys provided")
    eng = function_engine(c.server)
    return eng.run(c, f.fn, f.name.decode("utf-8", "replace"), f.flags, False, ro, keys, args, False)


@command("fcall")
def cmd_fcall(c: Client, argv: list[bytes]) -> Any:
    return _fcall(c, argv, False)


@command("fcall_ro")
def cmd_fcall_ro(c: Client, argv: list[bytes]) -> Any:
    return _fcall(c, argv, True)
