"""CLIENT TRACKING, CLIENT CACHING, CLIENT GETREDIR, CLIENT TRACKINGINFO (Redis 7.0's
networking.c clientCommand; the state and the invalidations are ``server.tracking``'s)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server import errors
from server.commands.common import int_arg
from server.commands.registry import command
from server.resp import OK, Error, Map, RSet

if TYPE_CHECKING:
    from server.connection import Client

REDIRECT_SINGLE = "ERR A client can only redirect to a single other client"
REDIRECT_MISSING = "ERR The client ID you want redirect to does not exist"
PREFIX_NEEDS_BCAST = "ERR PREFIX option requires BCAST mode to be enabled"
SWITCH_BCAST = ("ERR You can't switch BCAST mode on/off before disabling tracking for this "
                "client, and then re-enabling it with a different mode.")
OPT_WITH_BCAST = "ERR OPTIN and OPTOUT are not compatible with BCAST"
OPTIN_AND_OPTOUT = "ERR You can't specify both OPTIN mode and OPTOUT mode"
SWITCH_OPT = ("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this "
              "client, and then re-enabling it with a different mode.")
PREFIX_OVERLAP_EXISTING = ("ERR Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for a "
                           "single client must not overlap.")
PREFIX_OVERLAP_GIVEN = ("ERR Prefix '%s' overlaps with another provided prefix '%s'. Prefixes for "
                        "a single client must not overlap.")
CACHING_NOT_TRACKING = ("ERR CLIENT CACHING can be called only when the client is in tracking "
                        "mode with OPTIN or OPTOUT mode enabled")
CACHING_YES = "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
CACHING_NO = "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."


def _text(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode("utf-8", "replace")  # printed with %s


def _overlap(a: bytes, b: bytes) -> bool:
    return a.startswith(b) or b.startswith(a)


@command("client|tracking")
def cmd_client_tracking(c: Client, argv: list[bytes]) -> Any:
    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes: list[bytes] = []
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        more = len(argv) - 1 - j
        if opt == b"redirect" and more:
            j += 1
            if redirect:
                raise Error(REDIRECT_SINGLE)
            redirect = int_arg(argv[j])
            if redirect not in c.server.clients:
                raise Error(REDIRECT_MISSING)
        elif opt == b"bcast":
            bcast = True
        elif opt == b"optin":
            optin = True
        elif opt == b"optout":
            optout = True
        elif opt == b"noloop":
            noloop = True
        elif opt == b"prefix" and more:
            j += 1
            prefixes.append(argv[j])
        else:
            raise Error(errors.SYNTAX)
        j += 1
    mode = argv[2].lower()
    tracking = c.server.tracking
    state = c.tracking
    if mode == b"on":
        if prefixes and not bcast:
            raise Error(PREFIX_NEEDS_BCAST)
        if state is not None and state.bcast != bcast:
            raise Error(SWITCH_BCAST)
        if bcast and (optin or optout):
            raise Error(OPT_WITH_BCAST)
        if optin and optout:
            raise Error(OPTIN_AND_OPTOUT)
        if state is not None and ((optin and state.optout) or (optout and state.optin)):
            raise Error(SWITCH_OPT)
        if bcast:
            existing = list(state.prefixes) if state is not None else []
            for i, p in enumerate(prefixes):
                for old in existing:
                    if _overlap(old, p):
                        raise Error(PREFIX_OVERLAP_EXISTING % (_text(p), _text(old)))
                for q in prefixes[i + 1 :]:
                    if _overlap(p, q):
                        raise Error(PREFIX_OVERLAP_GIVEN % (_text(p), _text(q)))
        tracking.enable(c, redirect, bcast, optin, optout, noloop, prefixes)
    elif mode == b"off":
        tracking.disable(c)
    else:
        raise Error(errors.SYNTAX)
    return OK


@command("client|caching")
def cmd_client_caching(c: Client, argv: list[bytes]) -> Any:
    state = c.tracking
    if state is None:
        raise Error(CACHING_NOT_TRACKING)
    opt = argv[2].lower()
    if opt == b"yes":
        if not state.optin:
            raise Error(CACHING_YES)
    elif opt == b"no":
        if not state.optout:
            raise Error(CACHING_NO)
    else:
        raise Error(errors.SYNTAX)
    state.caching = True
    return OK


@command("client|getredir")
def cmd_client_getredir(c: Client, argv: list[bytes]) -> Any:
    return c.tracking.redirect if c.tracking is not None else -1


@command("client|trackinginfo")
def cmd_client_trackinginfo(c: Client, argv: list[bytes]) -> Any:
    state = c.tracking
    flags: list[bytes] = [b"on" if state is not None else b"off"]
    if state is not None:
        if state.bcast:
            flags.append(b"bcast")
        if state.optin:
            flags.append(b"optin")
            if state.caching:
                flags.append(b"caching-yes")
        if state.optout:
            flags.append(b"optout")
            if state.caching:
                flags.append(b"caching-no")
        if state.noloop:
            flags.append(b"noloop")
        if state.broken_redirect:
            flags.append(b"broken_redirect")
    return Map([
        ("flags", RSet(flags)),
        ("redirect", state.redirect if state is not None else -1),
        ("prefixes", sorted(state.prefixes) if state is not None else []),
    ])
