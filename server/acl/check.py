"""Permission checks (Redis 7.0's ACLCheckAllUserCommandPerm and ACLSelectorCheckCmd).

A user may run a command when one of its selectors allows the command (its bit, or an allowed
first argument), every key it names with the access the key spec says (``access`` needs read,
``insert``/``update``/``delete`` need write), and every channel. When none does, the error to
report is the most specific one (command < key < channel), at the last argument position.
"""

from __future__ import annotations

from server.acl.users import READ, WRITE, Selector, User
from server.command_spec import CommandSpec
from server.glob import matches
from server.keyspecs import is_key_spec, key_positions, key_specs, migrate_key_positions

DENIED_CMD, DENIED_KEY, DENIED_CHANNEL = 1, 2, 3
REASONS = {DENIED_CMD: "command", DENIED_KEY: "key", DENIED_CHANNEL: "channel"}

_PUBSUB_CHANNELS = {"publish": "one", "spublish": "one", "subscribe": "all",
                    "ssubscribe": "all", "psubscribe": "patterns"}


def _set_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    """Redis's setGetKeys: the key is read as well only with GET."""
    get = any(a.lower() == b"get" for a in argv[3:])
    return [(1, READ | WRITE if get else WRITE)]


def _sort_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    """Redis's sortGetKeys: the key (read) and the last STORE destination (write)."""
    out = [(1, READ)]
    store = 0
    skip = {b"limit": 2, b"get": 1, b"by": 1}
    i = 2
    while i < len(argv):
        arg = argv[i].lower()
        if arg in skip:
            i += skip[arg]
        elif arg == b"store" and i + 1 < len(argv):
            store = i + 1
            i += 1
        i += 1
    if store:
        out.append((store, WRITE))
    return out


def _flags_needed(flags: list[str]) -> int:
    need = READ if "access" in flags else 0
    if "insert" in flags or "delete" in flags or "update" in flags:
        need |= WRITE
    return need


def command_keys(spec: CommandSpec, argv: list[bytes]) -> list[tuple[int, int]]:
    """(argument index, READ/WRITE needed) for each key of this call."""
    if spec.name == "set":
        return _set_keys(argv)
    if spec.name == "sort":
        return _sort_keys(argv)
    if spec.name == "migrate":
        return [(i, READ | WRITE) for i in migrate_key_positions(argv)]
    specs = key_specs(spec)
    if not specs:
        # A hand-written spec without key specs (CRDT.DIGEST [key]): the legacy positions,
        # read access for a read-only command, else read and write.
        if spec.first_key <= 0:
            return []
        last = spec.last_key if spec.last_key >= 0 else len(argv) + spec.last_key
        need = READ if "readonly" in spec.flags else READ | WRITE
        return [(i, need) for i in range(spec.first_key, min(last, len(argv) - 1) + 1, spec.step or 1)]
    if not any(is_key_spec(ks) for ks in specs):
        return []
    positions = key_positions(spec, argv, skip_unknown=True)
    return [(i, _flags_needed(flags)) for i, flags in positions or ()]


def _key_ok(s: Selector, key: bytes, need: int) -> bool:
    for pat in s.patterns:
        if pat.perms & need == need and matches(pat.pattern, key):
            return True
    return False


def _channel_ok(s: Selector, channel: bytes, literal: bool) -> bool:
    return any((pat == channel) if literal else matches(pat, channel) for pat in s.channels)


def _check_selector(s: Selector, cmd_id: int, parent: bool, noauth: bool, spec: CommandSpec,
                    argv: list[bytes], keys: list[tuple[int, int]] | None) -> tuple[int, int, list[tuple[int, int]] | None]:
    if not s.allcommands and not noauth and not s.bit(cmd_id):
        allowed = s.firstargs.get(cmd_id)
        idx = 2 if parent else 1
        if len(argv) < 2 or not allowed or len(argv) <= idx or not any(
                a.lower() == argv[idx].lower() for a in allowed):
            return DENIED_CMD, 0, keys
    if not s.allkeys:
        if keys is None:
            keys = command_keys(spec, argv)
        for pos, need in keys:
            if not _key_ok(s, argv[pos], need):
                return DENIED_KEY, pos, keys
    mode = _PUBSUB_CHANNELS.get(spec.name)
    if mode is not None and not s.allchannels:
        end = 2 if mode == "one" else len(argv)
        for pos in range(1, end):
            if not _channel_ok(s, argv[pos], mode == "patterns"):
                return DENIED_CHANNEL, pos, keys
    return 0, 0, keys


def check(user: User, cmd_id: int, spec: CommandSpec, argv: list[bytes]) -> tuple[int, int]:
    """(0, 0) when allowed, else (DENIED_*, argument index of the key or channel)."""
    relevant, last = DENIED_CMD, 0
    keys: list[tuple[int, int]] | None = None
    parent = spec.container is not None
    noauth = "no_auth" in spec.flags
    for s in user.selectors:
        result, idx, keys = _check_selector(s, cmd_id, parent, noauth, spec, argv, keys)
        if not result:
            return 0, 0
        if result > relevant or (result == relevant and idx > last):
            relevant, last = result, idx
    return relevant, last
