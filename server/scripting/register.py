"""``redis.register_function`` (FUNCTION LOAD's load API): Redis's argument checks and
messages, collecting into the engine's ``registering`` list."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

import lupa.lua51 as lua51

if TYPE_CHECKING:
    from server.scripting.engine import LuaEngine

SCRIPT_FLAGS = ("no-writes", "allow-oom", "allow-stale", "no-cluster")
_NAME = re.compile(rb"[A-Za-z0-9_]+")
# Redis 7.0 reports a bad function name with the library-name message, word for word.
FUNCTION_NAME_ERROR = ("ERR Library names can only contain letters, numbers, or underscores(_) "
                       "and must be at least one character long")


class Function(NamedTuple):
    name: bytes
    fn: Any
    flags: frozenset[str]
    description: bytes | None
    library: bytes


def valid_name(name: bytes) -> bool:
    return _NAME.fullmatch(name) is not None


def register_function(eng: LuaEngine, args: tuple[Any, ...]) -> None:
    """``redis.register_function(name, callback)`` or ``({function_name=, callback=,
    flags=, description=})``: Redis's argument checks, in its order."""
    collected = eng.registering
    if collected is None:
        raise eng._raise("ERR redis.register_function can only be called on FUNCTION LOAD command")
    if not 1 <= len(args) <= 2:
        raise eng._raise("ERR wrong number of arguments to redis.register_function")
    name: bytes | None = None
    desc: bytes | None = None
    callback: Any = None
    flags: set[str] = set()
    if len(args) == 2:
        name = _as_string(args[0])
        if name is None:
            raise eng._raise("ERR first argument to redis.register_function must be a string")
        if lua51.lua_type(args[1]) != "function":
            raise eng._raise("ERR second argument to redis.register_function must be a function")
        callback = args[1]
    else:
        table = args[0]
        if lua51.lua_type(table) != "table":
            raise eng._raise("ERR calling redis.register_function with a single argument is only "
                             "applicable to Lua table (representing named arguments).")
        for key, value in table.items():
            k = _as_string(key)
            if k is None:
                raise eng._raise("ERR named argument key given to redis.register_function is not a string")
            k = k.lower()
            if k == b"function_name":
                name = _as_string(value)
                if name is None:
                    raise eng._raise("ERR function_name argument given to redis.register_function must be a string")
            elif k == b"description":
                desc = _as_string(value)
                if desc is None:
                    raise eng._raise("ERR description argument given to redis.register_function must be a string")
            elif k == b"callback":
                if lua51.lua_type(value) != "function":
                    raise eng._raise("ERR callback argument given to redis.register_function must be a function")
                callback = value
            elif k == b"flags":
                if lua51.lua_type(value) != "table":
                    raise eng._raise("ERR flags argument to redis.register_function must be a table "
                                     "representing function flags")
                i = 1
                while (flag := value[i]) is not None:
                    text = _as_string(flag)
                    match = [f for f in SCRIPT_FLAGS if text is not None and f == text.decode("latin-1").lower()]
                    if not match:
                        raise eng._raise("ERR unknown flag given")
                    flags.add(match[0])
                    i += 1
            else:
                raise eng._raise("ERR unknown argument given to redis.register_function")
        if name is None:
            raise eng._raise("ERR redis.register_function must get a function name argument")
        if callback is None:
            raise eng._raise("ERR redis.register_function must get a callback argument")
    if not valid_name(name):
        raise eng._raise(FUNCTION_NAME_ERROR)
    if any(f.name == name for f in collected):
        raise eng._raise("ERR Function already exists in the library")
    collected.append(Function(name, callback, frozenset(flags), desc, b""))


def _as_string(value: Any) -> bytes | None:
    if type(value) is bytes:
        return value
    if type(value) in (int, float):
        return b"%.14g" % value
    return None


