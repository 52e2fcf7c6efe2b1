"""ACL users and selectors, and the rule language (Redis 7.0's acl.c: ACLSetUser,
ACLSetSelector, ACLDescribeUser, ACL GETUSER's fields).

A selector's command permissions are a bitmap over the ids of :mod:`server.acl.table` (a
Python int); ``table.future_bit`` is Redis's reserved bit that only ``+@all`` sets, so a
description starts with ``+@all`` or ``-@all`` as Redis's does. Rules are bytes (a password
may be any bytes); command and category names are ASCII, matched case-insensitively.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from server.acl.table import CATEGORIES, AclCommand, AclTable
from server.reqparse import splitargs

READ, WRITE = 1, 2
ALL_PERMS = READ | WRITE

# Redis's ACLSetUserStringError texts, by the errno ACLSetUser sets.
ENOENT = "Unknown command or category name in ACL"
EINVAL = "Syntax error"
EEXIST = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does "
          "not have any effect. Try 'resetkeys' to start with an empty list of patterns")
EISDIR = ("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and "
          "does not have any effect. Try 'resetchannels' to start with an empty list of channels")
ENODEV = "The password you are trying to remove from the user does not exist"
EBADMSG = ("The password hash must be exactly 64 characters and contain only lowercase "
           "hexadecimal characters")
ECHILD = "Allowing first-arg of a subcommand is not supported"

# User flags in Redis's ACLUserFlags order (the order ACL LIST / GETUSER print them).
USER_FLAGS = ("on", "off", "nopass", "skip-sanitize-payload", "sanitize-payload")


class RuleError(Exception):
    """A rule ACLSetUser refuses; ``str()`` is Redis's reason (ACLSetUserStringError)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rule = b""  # the rule refused (set by ACL SETUSER's staging)


def has_spaces(data: bytes) -> bool:
    """Redis's ACLStringHasSpaces: C isspace() or NUL anywhere."""
    return any(b in b" \t\n\v\f\r\0" for b in data)


def hash_password(password: bytes) -> str:
    return hashlib.sha256(password).hexdigest()


def valid_hash(data: bytes) -> bool:
    return len(data) == 64 and all(b in b"0123456789abcdef" for b in data)


@dataclass
class Settings:
    """Server-wide ACL settings new selectors read (Redis's globals)."""

    pubsub_all: bool = False  # acl-pubsub-default allchannels: new selectors get &*


@dataclass
class KeyPattern:
    pattern: bytes
    perms: int  # READ, WRITE or both (~)


@dataclass
class Selector:
    table: AclTable
    root: bool = False
    allkeys: bool = False
    allchannels: bool = False
    allcommands: bool = False
    allowed: int = 0
    firstargs: dict[int, list[bytes]] = field(default_factory=dict)
    patterns: list[KeyPattern] = field(default_factory=list)
    channels: list[bytes] = field(default_factory=list)

    def copy(self) -> Selector:
        return Selector(self.table, self.root, self.allkeys, self.allchannels, self.allcommands,
                        self.allowed, {k: list(v) for k, v in self.firstargs.items()},
                        [KeyPattern(p.pattern, p.perms) for p in self.patterns], list(self.channels))

    # -- command bits ----------------------------------------------------------------------
    def bit(self, cmd_id: int) -> bool:
        return bool(self.allowed >> cmd_id & 1)

    def _change(self, cmd: AclCommand, allow: bool) -> None:
        """ACLChangeSelectorPerm: the command and its subcommands; forgets its first-args."""
        mask = cmd.subtree_mask
        if allow:
            self.allowed |= mask
        else:
            self.allowed &= ~mask
            self.allcommands = False
        self.firstargs.pop(cmd.id, None)

    def _category(self, name: str, allow: bool) -> None:
        """ACLSetSelectorCommandBitsForCategory: _change for every command of the category."""
        if allow:
            self.allowed |= self.table.category_masks[name]
        else:
            self.allowed &= ~self.table.category_masks[name]
            self.allcommands = False
        members = self.table.category_members[name]
        for cmd_id in [i for i in self.firstargs if members >> i & 1]:
            del self.firstargs[cmd_id]

    def set_all(self, allow: bool) -> None:
        self.allowed = self.table.all_mask if allow else 0
        self.allcommands = allow
        self.firstargs.clear()

    # -- ACLSetSelector ----------------------------------------------------------------------
    def apply(self, op: bytes) -> None:
        low = op.lower()
        if low in (b"allkeys", b"~*"):
            self.allkeys = True
            self.patterns.clear()
        elif low == b"resetkeys":
            self.allkeys = False
            self.patterns.clear()
        elif low in (b"allchannels", b"&*"):
            self.allchannels = True
            self.channels.clear()
        elif low == b"resetchannels":
            self.allchannels = False
            self.channels.clear()
        elif low in (b"allcommands", b"+@all"):
            self.set_all(True)
        elif low in (b"nocommands", b"-@all"):
            self.set_all(False)
        elif op[:1] in (b"~", b"%"):
            self._add_key_pattern(op)
        elif op[:1] == b"&":
            if self.allchannels:
                raise RuleError(EISDIR)
            if has_spaces(op[1:]):
                raise RuleError(EINVAL)
            if op[1:] not in self.channels:
                self.channels.append(op[1:])
            self.allchannels = False
        elif op[:1] == b"+" and op[1:2] != b"@":
            self._allow_command(op[1:])
        elif op[:1] == b"-" and op[1:2] != b"@":
            cmd = self.table.lookup(op[1:].decode("latin-1"))
            if cmd is None:
                raise RuleError(ENOENT)
            self._change(cmd, False)
        elif op[:1] in (b"+", b"-") and op[1:2] == b"@":
            name = op[2:].decode("latin-1").lower()
            if name not in CATEGORIES:
                raise RuleError(ENOENT)
            self._category(name, op[:1] == b"+")
        else:
            raise RuleError(EINVAL)

    def _add_key_pattern(self, op: bytes) -> None:
        if self.allkeys:
            raise RuleError(EEXIST)
        perms = 0
        offset = 1
        if op[:1] == b"%":
            while offset < len(op):
                ch = op[offset : offset + 1].upper()
                if ch == b"R" and not perms & READ:
                    perms |= READ
                elif ch == b"W" and not perms & WRITE:
                    perms |= WRITE
                elif ch == b"~":
                    offset += 1
                    break
                else:
                    raise RuleError(EINVAL)
                offset += 1
            if not perms:  # "%~a"
                raise RuleError(EINVAL)
        else:
            perms = ALL_PERMS
        pattern = op[offset:]
        if has_spaces(pattern):
            raise RuleError(EINVAL)
        for existing in self.patterns:
            if existing.pattern == pattern:
                existing.perms |= perms
                break
        else:
            self.patterns.append(KeyPattern(pattern, perms))
        self.allkeys = False

    def _allow_command(self, name_b: bytes) -> None:
        name = name_b.decode("latin-1")
        if "|" not in name:
            cmd = self.table.lookup(name)
            if cmd is None:
                raise RuleError(ENOENT)
            self._change(cmd, True)
            return
        base, _, sub = name.rpartition("|")
        cmd = self.table.lookup(base)
        if cmd is None:
            raise RuleError(ENOENT)
        if cmd.parent is not None:
            raise RuleError(ECHILD)
        if not sub:
            raise RuleError(EINVAL)
        if cmd.subcommands:
            full = self.table.lookup(name)
            if full is None:
                raise RuleError(ENOENT)
            self._change(full, True)
            return
        args = self.firstargs.setdefault(cmd.id, [])
        sub_b = name_b.rpartition(b"|")[2]
        if not any(a.lower() == sub_b.lower() for a in args):
            args.append(sub_b)

    # -- describing --------------------------------------------------------------------------
    def command_rules(self) -> str:
        """ACLDescribeSelectorCommandRules: +@all/-@all, best-fit categories, then the
        single commands (and first-args) that make the bitmap exact."""
        table = self.table
        additive = not (self.allowed & table.future_bit)
        rules = ["-@all" if additive else "+@all"]
        fake = 0 if additive else table.all_mask
        temp = self.allowed
        applied: set[str] = set()
        while True:
            best, mindiff, maxsame = None, None, 0
            for cat in CATEGORIES:
                if cat in applied:
                    continue
                members = table.category_counted[cat]
                on = (temp & members).bit_count()
                off = members.bit_count() - on
                diff, same = (off, on) if additive else (on, off)
                if same > diff and (mindiff is None or diff < mindiff or (diff == mindiff and same > maxsame)):
                    best, mindiff, maxsame = cat, diff, same
            if best is None:
                break
            mask = table.category_masks[best]
            if additive:
                fake |= mask
                temp &= ~mask
            else:
                fake &= ~mask
                temp |= mask
            rules.append(("+@" if additive else "-@") + best)
            applied.add(best)
        for cmd in table.commands:
            userbit = bool(self.allowed >> cmd.id & 1)
            fakebit = bool(fake >> cmd.id & 1)
            if userbit != fakebit:
                rules.append(("+" if userbit else "-") + cmd.name)
                if userbit:
                    fake |= cmd.subtree_mask
                else:
                    fake &= ~cmd.subtree_mask
            if not userbit:
                for arg in self.firstargs.get(cmd.id, ()):
                    rules.append(f"+{cmd.name}|{arg.decode('utf-8', 'surrogateescape')}")
        return " ".join(rules)

    def key_rules(self) -> list[str]:
        if self.allkeys:
            return ["~*"]
        out = []
        for pat in self.patterns:
            prefix = {ALL_PERMS: "~", READ: "%R~", WRITE: "%W~"}[pat.perms]
            out.append(prefix + pat.pattern.decode("utf-8", "surrogateescape"))
        return out

    def channel_rules(self) -> list[str]:
        if self.allchannels:
            return ["&*"]
        return ["&" + ch.decode("utf-8", "surrogateescape") for ch in self.channels]

    def describe(self) -> str:
        """ACLDescribeSelector: keys, channels, commands (as ACL LIST prints them)."""
        parts = self.key_rules()
        if not self.allchannels:
            parts.append("resetchannels")
        parts.extend(self.channel_rules())
        parts.append(self.command_rules())
        return " ".join(parts)

    @property
    def unrestricted(self) -> bool:
        return self.allcommands and self.allkeys and self.allchannels


class User:
    def __init__(self, name: bytes, table: AclTable, settings: Settings | None = None) -> None:
        self.name = name
        self.table = table
        self.settings = settings or Settings()
        self.flags: set[str] = {"off"}
        self.passwords: list[str] = []  # sha256 hex digests, in the order added
        self.selectors: list[Selector] = [Selector(table, root=True, allchannels=self.settings.pubsub_all)]
        self.unrestricted = False  # a selector allows everything: checks can be skipped

    @property
    def root(self) -> Selector:
        return self.selectors[0]

    @property
    def enabled(self) -> bool:
        return "on" in self.flags

    @property
    def nopass(self) -> bool:
        return "nopass" in self.flags

    def _refresh(self) -> None:
        self.unrestricted = any(s.unrestricted for s in self.selectors)

    def copy_from(self, other: User) -> None:
        """ACLCopyUser: every rule of ``other`` (the name stays)."""
        self.flags = set(other.flags)
        self.passwords = list(other.passwords)
        self.selectors = [s.copy() for s in other.selectors]
        self._refresh()

    def clone(self, name: bytes | None = None) -> User:
        user = User(self.name if name is None else name, self.table, self.settings)
        user.copy_from(self)
        return user

    def check_password(self, password: bytes) -> bool:
        if not self.enabled:
            return False
        if self.nopass:
            return True
        hashed = hash_password(password)
        ok = False
        for stored in self.passwords:
            ok |= hmac.compare_digest(hashed, stored)
        return ok

    # -- ACLSetUser ----------------------------------------------------------------------------
    def apply(self, op: bytes) -> None:
        self._apply(op)
        self._refresh()

    def _apply(self, op: bytes) -> None:
        if not op:
            return
        low = op.lower()
        if low == b"on":
            self.flags.discard("off")
            self.flags.add("on")
        elif low == b"off":
            self.flags.discard("on")
            self.flags.add("off")
        elif low == b"skip-sanitize-payload":
            self.flags.discard("sanitize-payload")
            self.flags.add("skip-sanitize-payload")
        elif low == b"sanitize-payload":
            self.flags.discard("skip-sanitize-payload")
            self.flags.add("sanitize-payload")
        elif low == b"nopass":
            self.flags.add("nopass")
            self.passwords.clear()
        elif low == b"resetpass":
            self.flags.discard("nopass")
            self.passwords.clear()
        elif op[:1] in (b">", b"#"):
            if op[:1] == b">":
                new = hash_password(op[1:])
            elif not valid_hash(op[1:]):
                raise RuleError(EBADMSG)
            else:
                new = op[1:].decode("ascii")
            if new not in self.passwords:
                self.passwords.append(new)
            self.flags.discard("nopass")
        elif op[:1] in (b"<", b"!"):
            if op[:1] == b"<":
                old = hash_password(op[1:])
            elif not valid_hash(op[1:]):
                raise RuleError(EBADMSG)
            else:
                old = op[1:].decode("ascii")
            if old not in self.passwords:
                raise RuleError(ENODEV)
            self.passwords.remove(old)
        elif op[:1] == b"(" and op[-1:] == b")":
            selector = Selector(self.table, allchannels=self.settings.pubsub_all)
            for sub in splitargs(op[1:-1]) or []:
                selector.apply(sub)
            self.selectors.append(selector)
        elif low == b"clearselectors":
            del self.selectors[1:]
        elif low == b"reset":
            for rule in (b"resetpass", b"resetkeys", b"resetchannels", b"off", b"sanitize-payload",
                         b"clearselectors", b"-@all"):
                self._apply(rule)
                if rule == b"resetchannels" and self.settings.pubsub_all:
                    self._apply(b"allchannels")
        else:
            self.root.apply(op)

    # -- describing --------------------------------------------------------------------------
    def describe(self) -> str:
        """ACLDescribeUser: what follows ``user <name> `` in ACL LIST and the ACL file."""
        parts = [f for f in USER_FLAGS if f in self.flags]
        parts.extend("#" + p for p in self.passwords)
        text = " ".join(parts + [self.root.describe()])
        for selector in self.selectors[1:]:
            text += f" ({selector.describe()})"
        return text

    def acl_line(self) -> str:
        return f"user {self.name.decode('utf-8', 'surrogateescape')} {self.describe()}"


def merge_selector_args(args: list[bytes]) -> list[bytes] | int:
    """ACLMergeSelectorArguments: a selector spread over several arguments becomes one.
    Returns the merged rules, or the index of an unmatched ``(`` argument."""
    out: list[bytes] = []
    start = -1
    current = b""
    for i, op in enumerate(args):
        if op[:1] == b"(" and op[-1:] != b")":
            current, start = op, i
            continue
        if start != -1:
            current += b" " + op
            if op[-1:] == b")":
                out.append(current)
                start = -1
            continue
        out.append(op)
    return start if start != -1 else out


def new_default_user(table: AclTable, settings: Settings | None = None) -> User:
    """ACLCreateDefaultUser: +@all ~* &* on nopass."""
    user = User(b"default", table, settings)
    for rule in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
        user.apply(rule)
    return user
