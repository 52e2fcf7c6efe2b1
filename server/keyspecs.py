"""Key positions from Redis 7.0 key specs (``getKeysUsingKeySpecs``), with each key spec's
flags: COMMAND GETKEYS uses the keys, ACL checks use the flags (``RW``/``RO``/``OW``/``RM``,
``access``/``insert``/``update``/``delete``) to tell reads from writes."""

from __future__ import annotations

from typing import Any

from server import command_spec as cs
from server.command_spec import CommandSpec
from server.resp import Map


def key_specs(spec: CommandSpec) -> list[Map]:
    return [ks for ks in cs.to_list(spec.info[cs.INFO_KEY_SPECS]) if isinstance(ks, Map)]


def spec_flags(ks: Map) -> list[str]:
    return cs.to_plain_flags(cs.map_get(ks, "flags", []))


def is_key_spec(ks: Map) -> bool:
    return "not_key" not in spec_flags(ks)


def _begin(ks: Map, argv: list[bytes]) -> int | None:
    """The first key's index (0: none here), or None for a spec Redis cannot search."""
    argc = len(argv)
    bs = cs.map_get(ks, "begin_search")
    bs_type, bs_spec = cs.map_get(bs, "type"), cs.map_get(bs, "spec")
    if bs_type == "index":
        index: int = cs.map_get(bs_spec, "index")
        return index
    if bs_type != "keyword":
        return None
    keyword = cs.map_get(bs_spec, "keyword").encode().lower()
    start_from = cs.map_get(bs_spec, "startfrom")
    start = start_from if start_from > 0 else argc + start_from
    end = argc - 1 if start_from > 0 else 0
    i = start
    while 1 <= i < argc:
        if argv[i].lower() == keyword:
            return i + 1
        if i == end:
            break
        i += 1 if start <= end else -1
    return 0


def key_positions(spec: CommandSpec, argv: list[bytes], *,
                  skip_unknown: bool = False) -> list[tuple[int, list[str]]] | None:
    """(argument index, key spec flags) for every key; None when the arguments do not fit
    (or, unless ``skip_unknown``, a spec cannot be searched: SORT's BY/GET/STORE)."""
    argc = len(argv)
    out: list[tuple[int, list[str]]] = []
    for ks in key_specs(spec):
        if not is_key_spec(ks):
            continue
        first = _begin(ks, argv)
        if first is None:
            if skip_unknown:
                continue
            return None
        if not first:
            continue
        fk = cs.map_get(ks, "find_keys")
        fk_type, fk_spec = cs.map_get(fk, "type"), cs.map_get(fk, "spec")
        step: Any
        if fk_type == "range":
            step = cs.map_get(fk_spec, "keystep")
            lastkey, limit = cs.map_get(fk_spec, "lastkey"), cs.map_get(fk_spec, "limit")
            if lastkey >= 0:
                last = first + lastkey
            elif not limit:
                last = argc + lastkey
            else:
                last = first + ((argc - first) // limit + lastkey)
        elif fk_type == "keynum":
            step = cs.map_get(fk_spec, "keystep")
            idx = cs.map_get(fk_spec, "keynumidx")
            if idx >= argc - first:
                return None
            try:
                numkeys = int(argv[first + idx])
            except ValueError:
                return None
            if numkeys < 0:
                return None
            first += cs.map_get(fk_spec, "firstkey")
            last = first + numkeys - 1
        else:
            if skip_unknown:
                continue
            return None
        if last >= argc or last < first or first >= argc:
            return None
        flags = spec_flags(ks)
        out.extend((i, flags) for i in range(first, last + 1, step or 1))
    return out


def keys_from_specs(spec: CommandSpec, argv: list[bytes]) -> list[bytes] | None:
    """Redis 7.0's getKeysUsingKeySpecs (keys only); None when the arguments do not fit."""
    positions = key_positions(spec, argv)
    return None if positions is None else [argv[i] for i, _ in positions]


def migrate_key_positions(argv: list[bytes]) -> list[int]:
    """MIGRATE's keys as Redis 7.0 finds them: once its KEYS key spec (marked incomplete)
    matches, as migrateGetKeys: argument 3, or what follows KEYS (AUTH's and
    AUTH2's values skipped), none when KEYS comes with a non-empty key argument."""
    if not any(a.lower() == b"keys" for a in argv[1:-1]):
        # the KEYS key spec (searched from the second-to-last argument back) finds nothing:
        # Redis keeps the key specs' answer, the key argument alone
        return [3] if len(argv) > 3 else []
    first, num = 3, 1
    i = 6
    while i < len(argv):
        word = argv[i].lower()
        if word == b"keys":
            if argv[3]:
                return []
            first, num = i + 1, len(argv) - i - 1
            break
        i += {b"auth": 1, b"auth2": 2}.get(word, 0) + 1
    return list(range(first, min(first + num, len(argv))))
