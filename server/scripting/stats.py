"""The scripting lines of INFO memory, in Redis 7.0's order and names."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crdt.types.library import registry
from server.scripting.functions import current

if TYPE_CHECKING:
    from server.app import Server


def _vm_bytes(eng: Any) -> int:
    """Bytes the Lua state uses (Lua's own count, as Redis's lua_gc(LUA_GCCOUNT))."""
    if eng is None:
        return 0
    return int(eng.rt.eval(b"collectgarbage('count')") * 1024)


def memory_fields(server: Server, human: Callable[[int], str]) -> list[tuple[str, Any]]:
    scripts = getattr(server, "lua_engine", None)
    functions = getattr(server, "lua_function_engine", None)
    state = current(server) if registry(server.ks).libs or functions is not None else None
    functions = getattr(server, "lua_function_engine", None)
    eval_vm = _vm_bytes(scripts)
    func_vm = _vm_bytes(functions)
    cached = scripts.scripts if scripts is not None else {}
    scripts_mem = sum(len(s.body) + 40 for s in cached.values())
    libraries = state.libraries.values() if state is not None else ()
    functions_mem = sum(len(lib.code) for lib in libraries)
    n_functions = len(state.functions) if state is not None else 0
    return [
        ("used_memory_lua", eval_vm),
        ("used_memory_vm_eval", eval_vm),
        ("used_memory_lua_human", human(eval_vm)),
        ("used_memory_scripts_eval", scripts_mem),
        ("number_of_cached_scripts", len(cached)),
        ("number_of_functions", n_functions),
        ("number_of_libraries", len(state.libraries) if state is not None else 0),
        ("used_memory_vm_functions", func_vm),
        ("used_memory_vm_total", eval_vm + func_vm),
        ("used_memory_vm_total_human", human(eval_vm + func_vm)),
        ("used_memory_functions", functions_mem),
        ("used_memory_scripts", scripts_mem + functions_mem),
        ("used_memory_scripts_human", human(scripts_mem + functions_mem)),
    ]
