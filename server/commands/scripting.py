"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis's eval.c).

The script cache is local to a region (SEMANTICS: "What is local"); a script's writes reach
peers as its effects, in the one batch of the calling command (``server/scripting``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crdt.numbers import parse_int
from server import errors
from server.commands.registry import command
from server.monitor_feed import feed_script
from server.resp import OK, Error, Status
from server.scripting import busy
from server.scripting.engine import current_run, engine

if TYPE_CHECKING:
    from server.connection import Client

NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
NOTBUSY = "NOTBUSY No scripts in execution right now."
UNKILLABLE = ("UNKILLABLE Sorry the script already executed write commands against the dataset. "
              "You can either wait the script termination or kill the server in a hard way "
              "using the SHUTDOWN NOSAVE command.")

SCRIPT_HELP = (
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
)


def keys_and_args(argv: list[bytes], not_integer: str = errors.NOT_INTEGER) -> tuple[list[bytes], list[bytes]]:
    """``numkeys key... arg...`` from ``argv[2]`` (EVAL, FCALL): Redis's checks and messages."""
    n = parse_int(argv[2])
    if n is None:
        raise Error(not_integer)
    first = 3
    if n > len(argv) - first:
        raise Error(errors.NUMKEYS_TOO_MANY)
    if n < 0:
        raise Error("ERR Number of keys can't be negative")
    return argv[first:first + n], argv[first + n:]


def _eval(c: Client, argv: list[bytes], ro: bool) -> Any:
    feed_script(c, argv)
    keys, args = keys_and_args(argv)
    eng = engine(c.server)
    sha = eng.create_script(argv[1])
    script = eng.scripts[sha]
    return eng.run(c, script.fn, sha, script.flags, script.compat, ro, keys, args, True)


def _evalsha(c: Client, argv: list[bytes], ro: bool) -> Any:
    feed_script(c, argv)
    if len(argv[1]) != 40:
        raise Error(NOSCRIPT)
    keys, args = keys_and_args(argv)
    eng = engine(c.server)
    sha = argv[1].decode("latin-1").lower()
    script = eng.scripts.get(sha)
    if script is None:
        raise Error(NOSCRIPT)
    return eng.run(c, script.fn, sha, script.flags, script.compat, ro, keys, args, True)


@command("eval")
def cmd_eval(c: Client, argv: list[bytes]) -> Any:
    return _eval(c, argv, False)


@command("eval_ro")
def cmd_eval_ro(c: Client, argv: list[bytes]) -> Any:
    return _eval(c, argv, True)


@command("evalsha")
def cmd_evalsha(c: Client, argv: list[bytes]) -> Any:
    return _evalsha(c, argv, False)


@command("evalsha_ro")
def cmd_evalsha_ro(c: Client, argv: list[bytes]) -> Any:
    return _evalsha(c, argv, True)


@command("script|load")
def cmd_script_load(c: Client, argv: list[bytes]) -> Any:
    return engine(c.server).create_script(argv[2]).encode()


@command("script|exists")
def cmd_script_exists(c: Client, argv: list[bytes]) -> Any:
    scripts = engine(c.server).scripts
    return [int(sha.decode("latin-1").lower() in scripts) for sha in argv[2:]]


@command("script|flush")
def cmd_script_flush(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        raise Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    engine(c.server).reset()
    return OK


@command("script|kill")
def cmd_script_kill(c: Client, argv: list[bytes]) -> Any:
    return kill(c, eval_mode=True)


def kill(c: Client, eval_mode: bool) -> Any:
    """SCRIPT KILL / FUNCTION KILL (Redis's scriptKill)."""
    run = current_run(c.server)
    if run is None:
        raise Error(NOTBUSY)
    if run.dirty:
        raise Error(UNKILLABLE)
    if eval_mode and not run.eval_mode:
        raise Error(busy.BUSY_FUNCTION)
    if not eval_mode and run.eval_mode:
        raise Error(busy.BUSY_EVAL)
    run.killed = True
    return OK


@command("script|debug")
def cmd_script_debug(c: Client, argv: list[bytes]) -> Any:
    # The Lua debugger (LDB) is not implemented: say so instead of pretending.
    raise Error("ERR SCRIPT DEBUG is not supported by activekv")


@command("script|help")
def cmd_script_help(c: Client, argv: list[bytes]) -> Any:
    return [Status(line) for line in SCRIPT_HELP]
