"""The Lua engine: one Lua 5.1 state (lupa) per server, the script cache, running a script.

A script runs synchronously inside the command that called it (EVAL/EVALSHA/FCALL), on the
event loop's thread, exactly as in Redis: nothing else touches the keyspace meanwhile, so the
script is atomic by construction, and every effect its ``redis.call``s emit goes into the
batch the calling command commits (``Client.call``), so peers apply all of a script's writes
or none of them (SEMANTICS G6). Peers never run the script: they get its effects.

``redis.call`` runs a command's handler with the calling client (its database saved and
restored, so SELECT inside a script stays inside it; ``in_exec`` set, so blocking commands
answer at once as in MULTI), after Redis's checks: arity, the ``noscript`` flag, writes in a
read-only script.

Busy scripts: a count hook (every 100000 Lua instructions) calls ``_hook``. Past
``busy-reply-threshold`` the script is *busy*: the hook then serves the other clients itself
(``server.scripting.busy``) — it reads their sockets directly, since the event loop is blocked
in this very callback and cannot be re-entered — answering ``-BUSY`` to everything but the
commands flagged ``allow_busy`` (SCRIPT KILL, FUNCTION KILL/STATS, SHUTDOWN NOSAVE, AUTH, ...).
SCRIPT KILL marks the run killed; the hook raises Redis's error on the next check (and on
every line after, so a ``pcall`` loop cannot swallow it).
"""

from __future__ import annotations

import hashlib
import time
from importlib import resources
from typing import TYPE_CHECKING, Any

import lupa.lua51 as lua51

from server import errors
from server.acl.hooks import may_run, script_permission_error
from server.blocking import Blocked
from server.keyevents import begin, derive
from server.monitor_feed import feed_lua
from server.reqparse import splitargs
from server.resp import Error
from server.scripting import busy, libraries
from server.scripting.convert import CLASSIFY_LUA, Converter, CountedError, uncount_error
from server.scripting.libraries import ScriptError, load_chunk
from server.scripting.register import SCRIPT_FLAGS, register_function

if TYPE_CHECKING:
    from server.app import Server
    from server.commands.registry import Command
    from server.connection import Client

REDIS_VERSION = b"7.0.15"
REDIS_VERSION_NUM = 0x07000F
LOAD_TIMEOUT_MS = 500  # FUNCTION LOAD's limit for running a library's code
HOOK_EVERY = 100_000  # Lua instructions between two busy checks (Redis's count hook)
LOG_LEVELS = (10, 20, 20, 30)  # redis.LOG_DEBUG..LOG_WARNING -> logging levels


# Redis 7.0's CMD_MAY_REPLICATE commands (CLIENT PAUSE WRITE holds them, a read-only script may
# not call them). COMMAND INFO does not show that flag, so the spec generated from it has none:
# the list is commands.c's.
MAY_REPLICATE = frozenset({"eval", "evalsha", "fcall", "pfcount", "publish", "spublish"})


def sha1hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


class ScriptRun:
    """One script invocation (Redis's ``scriptRunCtx``)."""

    __slots__ = ("client", "name", "eval_mode", "read_only", "resp3", "dirty", "killed",
                 "busy", "started", "shutdown", "argv", "deny_oom")

    def __init__(self, client: Client, name: str, eval_mode: bool, read_only: bool) -> None:
        self.client = client
        self.name = name
        self.eval_mode = eval_mode
        self.read_only = read_only
        self.resp3 = False  # redis.setresp
        self.dirty = False  # ran a write command: SCRIPT KILL refuses (UNKILLABLE)
        self.killed = False
        self.busy = False  # past busy-reply-threshold
        self.started = time.monotonic()
        self.shutdown = False  # SHUTDOWN NOSAVE arrived while busy
        self.argv: list[bytes] = list(client.argv or ())  # the calling command (FUNCTION STATS)
        self.deny_oom = False  # over maxmemory when it started, without allow-oom


def parse_shebang(body: bytes, *, eval_script: bool) -> tuple[frozenset[str], int, dict[str, bytes]]:
    """``#!lua [flags=a,b] [name=x]``: (flags, length of the shebang line, other options).
    EVAL accepts only ``flags=``; FUNCTION LOAD also takes ``name=``."""
    end = body.find(b"\n")
    if end < 0:
        raise Error("ERR Invalid script shebang" if eval_script else "ERR Invalid library metadata")
    parts = splitargs(body[:end])  # Redis's sdssplitargs: quotes and escapes
    if parts is None and not eval_script:
        raise Error("ERR Invalid library metadata")
    if not parts:
        raise Error("ERR Invalid engine in script shebang")
    if parts[0] != b"#!lua" and eval_script:  # FUNCTION LOAD's engine names: any case
        raise Error("ERR Unexpected engine in script shebang: %s" % errors.arg_text(parts[0]))
    flags: set[str] = set()
    options: dict[str, bytes] = {}
    if not eval_script and parts[0].lower() != b"#!lua":  # reported after the metadata's errors
        options["bad_engine"] = parts[0][2:]
    for part in parts[1:]:
        if part.startswith(b"flags=") and eval_script:
            for flag in filter(None, part[6:].split(b",")):
                name = flag.decode("utf-8", "replace")
                if name not in SCRIPT_FLAGS:
                    raise Error("ERR Unexpected flag in script shebang: %s" % errors.arg_text(flag))
                flags.add(name)
        elif part[:5].lower() == b"name=" and not eval_script:
            if "name" in options:
                raise Error("ERR Invalid metadata value, name argument was given multiple times")
            options["name"] = part[5:]
        elif eval_script:
            raise Error("ERR Unknown lua shebang option: %s" % errors.arg_text(part))
        else:
            raise Error("ERR Invalid metadata value given: %s" % errors.arg_text(part))
    return frozenset(flags), end, options


class Script:
    __slots__ = ("body", "flags", "compat", "fn")

    def __init__(self, body: bytes, flags: frozenset[str], compat: bool, fn: Any) -> None:
        self.body = body
        self.flags = flags
        self.compat = compat  # no shebang: Redis's EVAL compatibility mode
        self.fn = fn


class LuaEngine:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.running: ScriptRun | None = None
        self.loading_since: float | None = None  # running a library's code (FUNCTION LOAD)
        self.registering: list[Any] | None = None  # what redis.register_function collected
        self.scripts: dict[str, Script] = {}
        self.busy_flags: dict[str, bool] = {}
        self._new_state()

    # -- the Lua state ---------------------------------------------------------------------------
    def _new_state(self) -> None:
        # attribute_filter: Lua code must not reach into the Python objects behind our
        # callbacks (``redis.call.__self__``... would be the whole interpreter).
        rt = lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True, register_eval=False,
                              register_builtins=False, attribute_filter=_no_attributes)
        self.rt = rt
        callbacks = rt.table_from({
            b"call": self._call_raise, b"pcall": self._call_noraise, b"hook": self._hook,
            b"log": self._log, b"sha1hex": self._sha1hex, b"setresp": self._setresp,
            b"set_repl": self._set_repl, b"register_function": self._register_function, b"acl_check_cmd": self._acl_check_cmd,
            b"unwrap": _unwrap, b"loadstring": self._loadstring, b"load": self._load, b"version": REDIS_VERSION, b"version_num": REDIS_VERSION_NUM,
        })
        source = resources.files("server.scripting").joinpath("bootstrap.lua").read_bytes()
        self.api = load_chunk(rt, source, b"=activekv", callbacks)
        rand = getattr(self.server, "lua_rand48", None)
        if rand is None:
            rand = self.server.lua_rand48 = libraries.Rand48()  # type: ignore[attr-defined]
        libraries.install(rt, self.api, rand)
        self.conv = Converter(rt.table_from, rt.execute(CLASSIFY_LUA.encode()), lua51.lua_type)
        self.api.finish()

    def reset(self) -> None:
        """SCRIPT FLUSH: forget every script; a fresh Lua state."""
        self.scripts = {}
        self._new_state()

    def compile(self, body: bytes, chunkname: bytes) -> Any:
        result = self.api.compile(body, chunkname)
        fn, err = result if isinstance(result, tuple) else (result, None)
        if fn is None:
            # Redis's %s of Lua's message: up to a NUL, the bytes of the script as sent
            raise Error("ERR Error compiling script (new function): %s" % errors.arg_text(err))
        return fn

    # -- EVAL scripts ----------------------------------------------------------------------------
    def create_script(self, body: bytes) -> str:
        """Redis's luaCreateFunction: compile and cache ``body``; its SHA1."""
        sha = sha1hex(body)
        if sha in self.scripts:
            return sha
        flags: frozenset[str] = frozenset()
        compat = True
        code = body
        if body.startswith(b"#!"):
            flags, end, _ = parse_shebang(body, eval_script=True)
            compat = False
            code = body[end:]  # keep the newline: line numbers stay the script's
        fn = self.compile(code, b"@user_script")
        self.scripts[sha] = Script(body, flags, compat, fn)
        return sha

    def run(self, c: Client, fn: Any, name: str, flags: frozenset[str], compat: bool, ro: bool,
            keys: list[bytes], args: list[bytes], eval_mode: bool) -> Any:
        """Run a compiled script or function for ``c``; the reply (an ``Error`` on failure)."""
        if not compat and "no-writes" not in flags:  # a failing disk refuses it (MISCONF)
            misconf = self.server.disk.denied()
            if misconf is not None:
                raise Error(misconf)
        if not compat and "no-writes" not in flags and ro:
            raise Error("ERR Can not execute a script with write flag using *_ro command.")
        read_only = ro or (not compat and "no-writes" in flags)
        oom = "allow-oom" not in flags and self.server.memory.out_of_memory()
        if oom and not compat and "no-writes" not in flags:  # script.c's scriptPrepareForRun
            raise Error("OOM command not allowed when used memory > 'maxmemory'.")  # as processCommand
        run = ScriptRun(c, name, eval_mode, read_only)
        run.deny_oom = oom
        table = self.rt.table_from
        saved = (c.db, c.resp3, c.in_exec)
        caller_resp3 = c.resp3
        threshold = self.server.config.busy_reply_threshold
        self.running = run
        c.in_exec = True
        try:
            outcome = self.api.run(fn, table(keys), table(args), eval_mode,
                                   HOOK_EVERY if threshold > 0 else 0)
        finally:
            self.running = None
            c.db, c.resp3, c.in_exec = saved
            if run.busy:
                busy.leave(self.server, run)
            if run.shutdown:
                busy.shutdown_now(self.server)
        ok, result = outcome if isinstance(outcome, tuple) else (outcome, None)
        if ok:
            reply = self.conv.from_lua(result, run.resp3, caller_resp3)
            if type(reply) is CountedError:  # a returned redis.pcall error: counted already
                uncount_error(self.server.stats, reply.message)
            return reply
        return self._error_reply(run, result)

    def _error_reply(self, run: ScriptRun, err: Any) -> Error:
        if lua51.lua_type(err) != "table":
            text = err.decode("utf-8", "replace") if isinstance(err, bytes) else "execution failure"
            return Error("ERR Error running script %s, %.100s" % (run.name, text))
        msg, source, line = err[b"err"], err[b"source"], err[b"line"]
        if err[b"ignore_error_stats_update"] and msg is not None:  # raised by redis.call
            uncount_error(self.server.stats, _lua_str(msg))
        text = _lua_str(msg) if msg is not None else "(null)"
        if source is not None and line is not None:
            text += " script: %s, on %s:%s." % (run.name, _lua_str(source), _lua_str(line))
        return Error(text)

    # -- callbacks from Lua ----------------------------------------------------------------------
    def _raise(self, message: str) -> ScriptError:
        return ScriptError(self.conv.err_table(message))

    def _call_raise(self, *args: Any) -> Any:
        failed, value = self._call(True, *args)
        if failed:
            raise ScriptError(value)
        return value

    def _call_noraise(self, *args: Any) -> Any:
        return self._call(False, *args)[1]

    def _call(self, raise_error: bool, *args: Any) -> tuple[bool, Any]:
        """redis.call / redis.pcall: (raise?, reply as Lua value)."""
        run = self.running
        conv = self.conv
        if run is None:
            return True, conv.err_table("ERR redis.call/pcall can only be called inside a script invocation")
        if not args:
            return raise_error, conv.err_table("ERR Please specify at least one argument for this redis lib call")
        argv: list[bytes] = []
        for a in args:
            t = type(a)
            if t is bytes:
                argv.append(a)
            elif t is int or t is float:
                argv.append(b"%.17g" % a)
            else:
                return raise_error, conv.err_table("ERR Lua redis lib command arguments must be strings or integers")
        c = run.client
        cmd = self._lookup(argv)
        if cmd is None:
            return raise_error, self._counted(None, "ERR Unknown Redis command called from script")
        argc = len(argv)
        if argc != cmd.arity and (cmd.arity > 0 or argc < -cmd.arity):
            return raise_error, self._counted(cmd, "ERR Wrong number of args calling Redis command from script")
        if "noscript" in cmd.spec.flags and not self.server.script_disable_deny:
            return raise_error, self._counted(cmd, "ERR This Redis command is not allowed from script")
        if not c.user.unrestricted:
            denied = script_permission_error(c, cmd, argv)
            if denied is not None:
                return raise_error, self._counted(cmd, denied)
        if run.read_only and (cmd.write or cmd.name in MAY_REPLICATE):  # scriptVerifyWriteCommandAllow
            return raise_error, self._counted(cmd, "ERR Write commands are not allowed from read-only scripts.")
        if cmd.write and not run.dirty:  # scriptVerifyWriteCommandAllow: a failing disk
            misconf = self.server.disk.denied()
            if misconf is not None:
                return raise_error, self._counted(cmd, misconf)
        if run.deny_oom and not run.dirty and cmd.name in self.server.memory.denyoom:
            # scriptVerifyOOM: only before the script's first write (it cannot stop halfway)
            return raise_error, self._counted(cmd, "OOM command not allowed when used memory > 'maxmemory'.")
        if cmd.write:
            run.dirty = True
        server = self.server
        stats = server.stats
        stats.commands += 1
        c.resp3 = run.resp3
        handler = cmd.handler
        assert handler is not None
        mark = begin(c, cmd, argv)  # the keyspace events of the call travel with its effects
        started = time.perf_counter_ns()
        try:
            reply = handler(c, argv)
        except Error as exc:
            reply = exc
        except Exception as exc:  # a bug of ours: one line of -ERR, as outside scripts
            reply = c.unexpected_error(cmd, exc)
        failed = isinstance(reply, Error)
        server.monitor.after_call(c, cmd, argv, time.perf_counter_ns() - started, failed)  # commandstats
        derive(c, cmd.name, argv, mark)
        if server.monitors:
            feed_lua(c, cmd, argv)
        if c.tracking is not None and cmd.readonly:  # the script's keys get tracked (Tracking)
            c.tracking.script_read = True
        if failed:
            stats.add_error(reply.message)
            return raise_error, conv.err_table(reply.message, counted=True)
        if type(reply) is Blocked:  # a command that would wait: never inside a script
            return raise_error, conv.err_table("ERR This Redis command is not allowed from script")
        return False, conv.to_lua(reply, run.resp3)

    def _counted(self, cmd: Command | None, message: str) -> Any:
        """A call refused inside the script (scriptCall's error path): the error counts now,
        the command gets a rejected call, and the error table is flagged so that the script's
        own error reply does not count it again (Redis's ignore_error_stats_update)."""
        self.server.stats.add_error(message)
        if cmd is not None:
            self.server.monitor.rejected(cmd)
        return self.conv.err_table(message, counted=True)

    def _lookup(self, argv: list[bytes]) -> Command | None:
        """Redis's lookupCommand: a container's subcommand when there is one."""
        cmd = self.server.table.get(argv[0].lower())
        if cmd is None or not cmd.subcommands:
            return cmd
        if len(argv) == 1:
            return cmd if cmd.handler is not None else cmd
        return cmd.subcommands.get(argv[1].lower())

    def _acl_check_cmd(self, *args: Any) -> bool:
        if self.running is None:
            raise self._raise("ERR redis.acl_check_cmd can only be called inside a script invocation")
        if not args:
            raise self._raise("ERR Please specify at least one argument for this redis lib call")
        argv = [a if type(a) is bytes else b"%.17g" % a for a in args if type(a) in (bytes, int, float)]
        if len(argv) != len(args):
            raise self._raise("ERR Lua redis lib command arguments must be strings or integers")
        cmd = self._lookup(argv)
        if cmd is None:
            raise self._raise("ERR Invalid command passed to redis.acl_check_cmd()")
        assert self.running is not None
        c = self.running.client
        return c.user.unrestricted or may_run(c, cmd, argv)

    def _sha1hex(self, *args: Any) -> bytes:
        if len(args) != 1:
            raise self._raise("ERR wrong number of arguments")
        s = args[0]
        data = s if type(s) is bytes else _lua_number_text(s) if type(s) in (int, float) else b""
        return sha1hex(data).encode()

    def _loadstring(self, *args: Any) -> Any:
        source: Any = args[0] if args else None
        if type(source) in (int, float):
            source = _lua_number_text(source)
        if type(source) is not bytes:
            raise ScriptError(self.api.where() + b"bad argument #1 to 'loadstring' (string expected, got %s)"
                              % _lua_typename(source))
        name = args[1] if len(args) > 1 else None
        return self.api.compile_text(source, name if type(name) is bytes else None)

    def _load(self, *args: Any) -> Any:
        reader: Any = args[0] if args else None
        if lua51.lua_type(reader) != "function":
            raise ScriptError(self.api.where() + b"bad argument #1 to 'load' (function expected, got %s)"
                              % _lua_typename(reader))
        pieces = []
        while True:
            piece = reader()
            if piece is None or piece == b"":
                break
            if type(piece) is not bytes:
                return None, b"reader function must return a string"
            pieces.append(piece)
        name = args[1] if len(args) > 1 and type(args[1]) is bytes else b"=(load)"
        return self.api.compile_text(b"".join(pieces), name)

    def _register_function(self, *args: Any) -> None:
        register_function(self, args)

    def _setresp(self, *args: Any) -> None:
        if self.running is None:
            raise self._raise("ERR redis.setresp can only be called inside a script invocation")
        if len(args) != 1:
            raise self._raise("ERR redis.setresp() requires one argument.")
        resp = _lua_tonumber(args[0])
        if resp not in (2, 3):
            raise self._raise("ERR RESP version must be 2 or 3.")
        self.running.resp3 = resp == 3

    def _set_repl(self, *args: Any) -> None:
        # SEMANTICS: scripts always replicate their effects; choosing what to propagate is
        # refused rather than silently ignored.
        raise self._raise("ERR redis.set_repl is not supported: activekv always replicates "
                          "the effects of a script")

    def _log(self, *args: Any) -> None:
        if len(args) < 2:
            raise self._raise("ERR redis.log() requires two arguments or more.")
        level = _lua_tonumber(args[0]) if type(args[0]) in (bytes, int, float) else None
        if level is None or (type(args[0]) is bytes and _lua_tonumber(args[0]) is None):
            raise self._raise("ERR First argument must be a number (log level).")
        if level < 0 or level > 3:
            raise self._raise("ERR Invalid debug level.")
        parts = [a if type(a) is bytes else _lua_number_text(a) for a in args[1:]
                 if type(a) in (bytes, int, float)]
        self.server.log.log(LOG_LEVELS[int(level)], "%s", b" ".join(parts).decode("utf-8", "replace"))

    def _hook(self) -> bytes | bool:
        """Every HOOK_EVERY instructions: the error that stops the script (SCRIPT KILL, a
        FUNCTION LOAD past its time limit), or False."""
        run = self.running
        if run is None:
            started = self.loading_since
            if started is not None and (time.monotonic() - started) * 1000 > LOAD_TIMEOUT_MS:
                return b"ERR FUNCTION LOAD timeout"
            return False
        if not run.busy:
            elapsed_ms = (time.monotonic() - run.started) * 1000
            if elapsed_ms < self.server.config.busy_reply_threshold:
                return False
            busy.enter(self.server, run, elapsed_ms)
        busy.serve_others(self.server, self, run)
        return b"ERR Script killed by user with SCRIPT KILL..." if run.killed else False


def _no_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError("access to Python attributes from Lua is not allowed")


def _unwrap(err: Any) -> Any:
    return err.value if isinstance(err, ScriptError) else None


def _lua_tonumber(value: Any) -> float | None:
    """lua_tonumber: a number, or a string that reads as one (else 0 / None)."""
    if type(value) in (int, float):
        return float(value)
    if type(value) is bytes:
        try:
            return float(int(value, 16)) if value.strip().lower().startswith(b"0x") else float(value)
        except ValueError:
            return None
    return None


def _lua_typename(value: Any) -> bytes:
    if value is None:
        return b"nil"
    t = type(value)
    if t is bool:
        return b"boolean"
    if t is bytes:
        return b"string"
    if t in (int, float):
        return b"number"
    return str(lua51.lua_type(value) or "userdata").encode()


def _lua_number_text(value: float) -> bytes:
    """Lua's tostring of a number (``%.14g``)."""
    return b"%.14g" % value


def _lua_str(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def current_run(server: Server) -> ScriptRun | None:
    """The script or function running now (SCRIPT KILL, FUNCTION KILL/STATS), if any."""
    for attr in ("lua_engine", "lua_function_engine"):
        eng = getattr(server, attr, None)
        if eng is not None and eng.running is not None:
            run: ScriptRun = eng.running
            return run
    return None


def engine(server: Server, attr: str = "lua_engine") -> LuaEngine:
    """The server's Lua engine for EVAL (``attr``: or FUNCTION's own, ``lua_function_engine``),
    created on first use."""
    eng: LuaEngine | None = getattr(server, attr, None)
    if eng is None:
        eng = LuaEngine(server)
        setattr(server, attr, eng)
    return eng



