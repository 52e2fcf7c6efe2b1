"""Function libraries on the Lua engine: compiling a library (running its code with the load
API so ``redis.register_function`` collects its functions) and the function table, derived
from the replicated registry (``crdt/types/library.py``).

Functions run on their own Lua state (``function_engine``), as in Redis: SCRIPT FLUSH does not
touch them. The table is rebuilt lazily whenever the registry changed (a local FUNCTION LOAD or
a replicated one), reusing what was already compiled; libraries are visited greatest timestamp
first, so if two regions concurrently loaded different libraries registering the same function
name, every region gives the name to the same (newest) library.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NamedTuple

import lupa.lua51 as lua51

from crdt.types.library import registry
from server import errors
from server.resp import Error
from server.scripting.engine import LuaEngine, engine, parse_shebang
from server.scripting.register import Function, valid_name

if TYPE_CHECKING:
    from server.app import Server

LIBRARY_NAME_ERROR = ("ERR Library names can only contain letters, numbers, or underscores(_) and "
                      "must be at least one character long")


class Library(NamedTuple):
    name: bytes
    code: bytes
    functions: list[Function]


def library_name(code: bytes) -> tuple[bytes, int]:
    """The ``#!lua name=<name>`` header: (name, length of the header line)."""
    if not code.startswith(b"#!"):
        raise Error("ERR Missing library metadata")
    _, end, options = parse_shebang(code, eval_script=False)
    name = options.get("name")
    if name is None:
        raise Error("ERR Library name was not given")
    if not valid_name(name):
        raise Error(LIBRARY_NAME_ERROR)
    if "bad_engine" in options:  # Redis looks the engine up once the metadata is parsed
        raise Error("ERR Engine '%s' not found" % errors.arg_text(options["bad_engine"]))
    return name, end


def compile_library(eng: LuaEngine, code: bytes) -> Library:
    """Run a library's code with the load API (FUNCTION LOAD's checks and messages)."""
    name, end = library_name(code)
    eng.registering = []
    eng.loading_since = time.monotonic()
    try:
        outcome = eng.api.load_library(code[end:], 100_000)
    finally:
        collected, eng.registering, eng.loading_since = eng.registering, None, None
    ok, err, compile_error = outcome
    if compile_error:
        raise Error("ERR Error compiling function: %s" % errors.arg_text(err))
    if not ok:
        msg = err[b"err"] if lua51.lua_type(err) == "table" else err
        text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
        raise Error("ERR Error registering functions: %s" % text)
    if not collected:
        raise Error("ERR No functions registered")
    return Library(name, code, [f._replace(library=name) for f in collected])


class FunctionState:
    """The libraries and functions this region serves, for one registry version."""

    def __init__(self) -> None:
        self.version = -1
        self.libraries: dict[bytes, Library] = {}
        self.functions: dict[bytes, Function] = {}  # by lowercased name


def function_engine(server: Server) -> LuaEngine:
    return engine(server, "lua_function_engine")


def current(server: Server) -> FunctionState:
    """The function table, rebuilt if the registry changed since it was built."""
    eng = function_engine(server)
    state: FunctionState | None = getattr(eng, "function_state", None)
    reg = registry(server.ks)
    if state is not None and state.version == reg.version:
        return state
    old = state.libraries if state is not None else {}
    fresh = FunctionState()
    fresh.version = reg.version
    for name, code in reg.newest_first():
        lib = old.get(name)
        if lib is None or lib.code != code:
            try:
                lib = compile_library(eng, code)
            except Error as exc:  # cannot happen for code a region accepted; never fatal
                server.log.warning("Library %r from the registry does not load: %s", name, exc.message)
                continue
        fresh.libraries[name] = lib
        for f in lib.functions:  # Redis's function dict ignores case (library names do not)
            fresh.functions.setdefault(f.name.lower(), f)
    eng.function_state = fresh  # type: ignore[attr-defined]
    return fresh
