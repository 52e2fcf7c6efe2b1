"""MODULE (HELP, LIST, LOAD, LOADEX, UNLOAD), as Redis 7.0 answers with no module loaded.

activekv loads no native extensions: LIST is empty, LOAD and LOADEX fail as Redis does when
the library cannot be opened, UNLOAD finds no such module. LOAD, LOADEX and UNLOAD are
protected commands (``enable-module-command``, "no" by default), checked at dispatch with
Redis's error; HELP and LIST are always allowed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.commands.registry import command
from server.resp import Error, Status

if TYPE_CHECKING:
    from server.connection import Client

MODULE_HELP = (
    "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
    "HELP",
    "    Prints this help.",
)

LOAD_FAILED = "ERR Error loading the extension. Please check the server logs."
NO_SUCH_MODULE = "ERR Error unloading module: no such module with that name"


@command("module|help")
def cmd_module_help(c: Client, argv: list[bytes]) -> Any:
    return [Status(line) for line in MODULE_HELP]


@command("module|list")
def cmd_module_list(c: Client, argv: list[bytes]) -> Any:
    return []


@command("module|load", "module|loadex")
def cmd_module_load(c: Client, argv: list[bytes]) -> Any:
    raise Error(LOAD_FAILED)


@command("module|unload")
def cmd_module_unload(c: Client, argv: list[bytes]) -> Any:
    raise Error(NO_SUCH_MODULE)
