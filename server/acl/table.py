"""The commands ACL rules can name, with their categories, as Redis's ACL code sees them.

Redis 7.0.15's whole command table (``acl_commands.json``, see ``gen_table``) plus our own
commands that Redis lacks (CRDT.*, CLIENT SETINFO: their hand-written specs). Every command
and subcommand gets an id, a bit in a selector's command bitmap (a Python int here); the bit
after the last id is Redis's "future commands" bit that only ``+@all``/``allcommands`` set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from server.command_spec import CommandSpec

TABLE_PATH = Path(__file__).with_name("acl_commands.json")

# Redis's ACLCommandCategories, in its order (ACL CAT, and the describe best-fit loop).
CATEGORIES = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
    "connection", "transaction", "scripting",
)


@dataclass
class AclCommand:
    name: str  # full lowercase name: "get", "client|id"
    id: int
    categories: frozenset[str]
    parent: AclCommand | None = None
    subcommands: dict[str, AclCommand] = field(default_factory=dict)  # "id" -> ...
    # This command's bit and its subcommands' bits (what Redis's ACLChangeSelectorPerm sets).
    subtree_mask: int = 0
    native: bool = True  # in Redis 7.0.15's table (not one of our CRDT.* additions)


class AclTable:
    def __init__(self, entries: list[tuple[str, list[str]]], extra: frozenset[str] = frozenset()) -> None:
        self.commands: list[AclCommand] = []  # in id order: containers before their subs
        self.top: dict[str, AclCommand] = {}
        for name, cats in entries:
            top, _, sub = name.partition("|")
            cmd = AclCommand(name, len(self.commands), frozenset(cats), native=name not in extra)
            if sub:
                parent = self.top.get(top)
                if parent is None:
                    raise ValueError(f"subcommand {name!r} before its container")
                cmd.parent = parent
                parent.subcommands[sub] = cmd
            else:
                self.top[name] = cmd
            self.commands.append(cmd)
        for cmd in self.commands:
            cmd.subtree_mask = 1 << cmd.id
            for child in cmd.subcommands.values():
                cmd.subtree_mask |= 1 << child.id
        self.ids: dict[str, int] = {cmd.name: cmd.id for cmd in self.commands}
        self.future_bit = 1 << len(self.commands)
        self.all_mask = (self.future_bit << 1) - 1
        # Redis's ACLSetSelectorCommandBitsForCategory: a command in the category, with its
        # subcommands when it is a container, and every subcommand in it.
        self.category_masks: dict[str, int] = {}
        for cat in CATEGORIES:
            mask = 0
            for cmd in self.commands:
                if cat in cmd.categories:
                    mask |= cmd.subtree_mask
            self.category_masks[cat] = mask
        # The commands whose own categories include it: ``_change`` forgets their first-args.
        self.category_members: dict[str, int] = {
            cat: sum(1 << c.id for c in self.commands if cat in c.categories) for cat in CATEGORIES
        }
        # What the describe best-fit counts: Redis's own commands only, so that a user's
        # description is Redis's (our extra commands' bits are then set right by the
        # single-command pass, which is exact whatever the counts).
        self.category_counted: dict[str, int] = {
            cat: sum(1 << c.id for c in self.commands if cat in c.categories and c.native)
            for cat in CATEGORIES
        }

    def lookup(self, name: str) -> AclCommand | None:
        """Redis's ACLLookupCommand: ``get`` or ``container|sub`` (case-insensitive)."""
        parts = name.lower().split("|")
        if len(parts) > 2:
            return None
        cmd = self.top.get(parts[0])
        if cmd is None or len(parts) == 1:
            return cmd
        return cmd.subcommands.get(parts[1])


def _entries_from_spec(spec: CommandSpec) -> list[tuple[str, list[str]]]:
    cats = [c.lstrip("@") for c in spec.acl_categories]
    out = [(spec.name, cats)]
    for sub in spec.subcommands.values():
        out.extend(_entries_from_spec(sub))
    return out


@cache
def load_table(extra: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> AclTable:
    """Redis's table plus ``extra`` (name, categories) entries for commands it lacks."""
    with open(TABLE_PATH, encoding="utf-8") as f:
        data = json.load(f)
    entries: dict[str, list[str]] = {name: cats for name, cats in data["commands"]}
    added = frozenset(name for name, _ in extra if name not in entries)
    for name, cats in extra:
        entries.setdefault(name, list(cats))
    return AclTable(sorted(entries.items(), key=lambda item: item[0]), added)


def extra_entries(specs: dict[str, CommandSpec]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(name, categories) for hand-written specs (``EXTRA_SPECS``), subcommands included."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for spec in specs.values():
        out.extend((n, tuple(c)) for n, c in _entries_from_spec(spec))
    return tuple(sorted(out))
