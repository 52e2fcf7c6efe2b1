"""Fixtures of the compat suites beyond tests/conftest.py's (the ACL suites' own server pair)."""

from tests.compat.acl_helpers import acl_servers, adiff

__all__ = ["acl_servers", "adiff"]
