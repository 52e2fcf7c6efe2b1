"""The users of one server (ACLs are local to a region: SEMANTICS "What is local"): the
``default`` user (``requirepass`` is its password, as in Redis), ``user`` lines of the config
file, the ACL file (ACL LOAD / ACL SAVE), and the ACL log."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from server.acl.log import AclLog
from server.acl.table import AclTable
from server.acl.users import (
    RuleError,
    Settings,
    User,
    has_spaces,
    merge_selector_args,
    new_default_user,
)

MIXED_CONFIG = (
    "Configuring Redis with users defined in redis.conf and at the same setting an ACL file "
    "path is invalid. This setup is very likely to lead to configuration errors and security "
    "holes, please define either an ACL file or declare users directly in your redis.conf, "
    "but not both."
)


class AclConfigError(Exception):
    """Users from the configuration cannot be loaded (the server does not start)."""


class Acl:
    def __init__(self, table: AclTable, requirepass: str = "", acllog_max_len: int = 128,
                 pubsub_default: str = "resetchannels") -> None:
        self.table = table
        self.settings = Settings(pubsub_all=pubsub_default == "allchannels")
        self.default = new_default_user(table)
        self.users: dict[bytes, User] = {b"default": self.default}
        self.log = AclLog(acllog_max_len)
        self.filename = ""  # the ACL file (``aclfile``), or ""
        self.client_info: Callable[[Any], str] = lambda c: ""  # CLIENT INFO's line (the log's)
        self.set_requirepass(requirepass)

    # -- the default user --------------------------------------------------------------------
    def set_requirepass(self, password: str) -> None:
        """ACLUpdateDefaultUserPassword: ``requirepass`` at start and CONFIG SET."""
        self.default.apply(b"resetpass")
        if password:
            self.default.apply(b">" + password.encode("utf-8", "surrogateescape"))
        else:
            self.default.apply(b"nopass")

    @property
    def default_needs_auth(self) -> bool:
        """Redis's authRequired for a client not authenticated: unless default is nopass and on."""
        return not self.default.nopass or not self.default.enabled

    # -- users ---------------------------------------------------------------------------------
    def authenticate(self, username: bytes, password: bytes) -> User | None:
        user = self.users.get(username)
        if user is None or not user.check_password(password):
            return None
        return user

    def staged(self, username: bytes, rules: list[bytes]) -> User:
        """ACL SETUSER's validation: the rules applied to a copy (RuleError on the first bad
        one, with ``.rule`` set); the caller commits with :meth:`commit`."""
        existing = self.users.get(username)
        temp = existing.clone() if existing is not None else User(username, self.table, self.settings)
        for rule in rules:
            try:
                temp.apply(rule)
            except RuleError as exc:
                exc.rule = rule
                raise
        return temp

    def commit(self, staged: User) -> User:
        user = self.users.get(staged.name)
        if user is None:
            user = self.users[staged.name] = User(staged.name, self.table, self.settings)
        user.copy_from(staged)
        return user

    def sorted_users(self) -> list[User]:
        """Redis's rax order: by name, bytewise."""
        return [self.users[name] for name in sorted(self.users)]

    # -- configuration -------------------------------------------------------------------------
    def load_config_users(self, lines: list[list[str]]) -> None:
        """``user`` lines of the config file (ACLAppendUserForLoading + ACLLoadConfiguredUsers)."""
        if lines and self.filename:
            raise AclConfigError(MIXED_CONFIG)
        seen: set[bytes] = set()
        for args in lines:
            raw = [a.encode("utf-8", "surrogateescape") for a in args]
            name = raw[0]
            if name in seen:
                raise AclConfigError("Error in user declaration '%s': Duplicate user found. A user can "
                                     "only be defined once in config files" % args[0])
            seen.add(name)
            if has_spaces(name):
                raise AclConfigError("Spaces not allowed in ACL usernames")
            merged = merge_selector_args(raw[1:])
            if isinstance(merged, int):
                raise AclConfigError("Error in user declaration '%s': Unmatched parenthesis in acl "
                                     "selector starting at '%s'." % (args[0], args[1 + merged]))
            user = self.users.get(name)
            if user is None:
                user = self.users[name] = User(name, self.table, self.settings)
            else:
                user.apply(b"reset")
            for rule in merged:
                try:
                    user.apply(rule)
                except RuleError as exc:
                    raise AclConfigError("Error loading ACL rule '%s' for the user named '%s': %s" % (
                        rule.decode("utf-8", "replace"), args[0], exc.reason)) from None

    def load_file(self) -> tuple[str | None, list[User]]:
        """ACLLoadFromFile: (None, users dropped) on success, else (Redis's error text, [])
        with nothing changed. Users dropped are the old ones (their clients are closed)."""
        fname = self.filename
        try:
            with open(fname, "rb") as f:
                data = f.read()
        except OSError as exc:
            return f"Error loading ACLs, opening file '{fname}': {exc.strerror}", []
        users: dict[bytes, User] = {}
        errors = ""
        for i, raw in enumerate(data.split(b"\n"), start=1):
            line = raw.strip(b" \t\r\n")
            if not line:
                continue
            argv = line.split(b" ")  # Redis's sdssplitlen: empty tokens are empty rules
            if argv[0] != b"user" or len(argv) < 2:
                errors += f"{fname}:{i} should start with user keyword followed by the username. "
                continue
            name = argv[1]
            if has_spaces(name):
                errors += f"'{fname}:{i}: username '{name.decode('utf-8', 'replace')}' contains invalid characters. "
                continue
            if name in users:
                errors += f"WARNING: Duplicate user '{name.decode('utf-8', 'replace')}' found on line {i}. "
                continue
            user = users[name] = User(name, self.table, self.settings)
            merged = merge_selector_args(argv[2:])
            if isinstance(merged, int):
                errors += f"{fname}:{i}: Unmatched parenthesis in selector definition."
                continue
            for rule in merged:
                try:
                    user.apply(rule.strip(b"\t\r\n"))
                except RuleError as exc:
                    errors += f"{fname}:{i}: {exc.reason}. "
                    break
        if errors:
            return errors + "WARNING: ACL errors detected, no change to the previously active ACL rules was performed", []
        new_default = users.pop(b"default", None) or new_default_user(self.table, self.settings)
        dropped = [u for name, u in self.users.items() if name != b"default"]
        self.default.copy_from(new_default)
        users[b"default"] = self.default
        self.users = users
        return None, dropped

    def save_file(self) -> bool:
        """ACLSaveToFile: every user as a ``user`` line, written to a temp file then renamed."""
        text = "".join(u.acl_line() + "\n" for u in self.sorted_users()).encode("utf-8", "surrogateescape")
        tmp = f"{self.filename}.tmp-{os.getpid()}-{int(time.time() * 1000)}"
        try:
            with open(tmp, "wb") as f:
                f.write(text)
            os.replace(tmp, self.filename)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return False
        return True
