"""ACL rules as data: what ACL LIST prints for a user, applied to a new user, gives the same
user (Redis's ACLDescribeUser contract, also what ACL SAVE / LOAD rely on); any rule, valid or
not, is applied or refused with a Redis reason, never raises anything else."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from server.acl.table import extra_entries, load_table
from server.acl.users import RuleError, User, merge_selector_args
from server.commands.registry import EXTRA_SPECS, build_table

build_table()  # registers the hand-written specs (CRDT.*, CLIENT SETINFO)
TABLE = load_table(extra_entries(EXTRA_SPECS))
COMMANDS = [c.name for c in TABLE.commands]
CATEGORY = st.sampled_from(["read", "write", "string", "hash", "admin", "dangerous", "fast", "slow",
                            "keyspace", "connection", "all", "geo", "sortedset", "nosuch"])
PATTERN = st.text(alphabet="abk*?:[]^-\\x", min_size=0, max_size=6)

RULE = st.one_of(
    st.sampled_from(["on", "off", "nopass", "resetpass", "allkeys", "resetkeys", "allchannels",
                     "resetchannels", "allcommands", "nocommands", "reset", "clearselectors",
                     "sanitize-payload", "skip-sanitize-payload", ""]),
    st.builds(lambda s, c: s + c, st.sampled_from(["+", "-"]), st.sampled_from(COMMANDS)),
    st.builds(lambda s, c: s + "@" + c, st.sampled_from(["+", "-"]), CATEGORY),
    st.builds(lambda c, a: f"+{c}|{a}", st.sampled_from(["select", "client", "config", "get"]),
              st.sampled_from(["0", "1", "id", "get", "x"])),
    st.builds(lambda p, pat: p + pat, st.sampled_from(["~", "%R~", "%W~", "%RW~", "&"]), PATTERN),
    st.builds(lambda p, pw: p + pw, st.sampled_from([">", "<"]), st.sampled_from(["a", "b", "pw"])),
)
SELECTOR_RULE = st.lists(RULE.filter(lambda r: r not in ("reset", "clearselectors", "on", "off", "nopass",
                                                          "resetpass", "")
                                      and not r.startswith((">", "<", "sanitize", "skip"))),
                         max_size=4).map(lambda rules: "(" + " ".join(rules) + ")")
RULES = st.lists(st.one_of(RULE, SELECTOR_RULE), max_size=12)


def build(rules: list[str]) -> User:
    user = User(b"u", TABLE)
    for rule in rules:
        try:
            user.apply(rule.encode())
        except RuleError as exc:
            assert exc.reason  # a Redis reason, and the rule changed nothing it refused
    return user


def state(user: User) -> tuple[object, ...]:
    """What decides permissions (first-args of a command whose bit is set are never used,
    and Redis does not print them either)."""
    return (sorted(user.flags), user.passwords,
            [(s.allowed, s.allkeys, s.allchannels,
              sorted((i, a) for i, a in s.firstargs.items() if not s.bit(i)),
              [(p.pattern, p.perms) for p in s.patterns], s.channels) for s in user.selectors])


@settings(max_examples=150, deadline=None)
@given(RULES)
def test_description_recreates_the_user(rules: list[str]) -> None:
    user = build(rules)
    # Redis's own exception: "%RW~*" is a pattern (a later "~foo" is accepted), described as
    # "~*", which means allkeys when applied again (checked against redis-server 7.0.15).
    assume(not any(p.pattern == b"*" and p.perms == 3 for s in user.selectors for p in s.patterns))
    text = user.describe().encode()
    merged = merge_selector_args(text.split(b" "))
    assert not isinstance(merged, int)
    again = User(b"u", TABLE)
    for rule in merged:
        again.apply(rule)
    assert again.describe() == user.describe()
    assert state(again) == state(user)


def test_a_refused_rule_changes_nothing() -> None:
    user = build(["on", ">pw", "+get", "~a"])
    before = state(user)
    for bad in ["+nosuch", "%X~a", "~a b", "<nope", "#zz", "+client|id|x", "+select|", "bad"]:
        try:
            user.apply(bad.encode())
            raise AssertionError(f"{bad!r} accepted")
        except RuleError:
            pass
        assert state(user) == before


def test_our_commands_key_and_command_permissions() -> None:
    """CRDT.DIGEST's key (a hand-written spec, legacy key positions) is checked like any key;
    CRDT.SYNC needs @admin/@dangerous or +crdt.sync (SEMANTICS: an application user cannot
    read the replication stream)."""
    from tests.inprocess import send, start_server

    server, _, client, transport = start_server()

    def call(*args: str) -> bytes:
        return send(client, transport, args)

    def bulk(text: str) -> bytes:
        return b"$%d\r\n%s\r\n" % (len(text), text.encode())

    assert call("ACL", "SETUSER", "u", "on", "nopass", "+@all", "-@dangerous", "~a*") == b"+OK\r\n"
    assert call("ACL", "DRYRUN", "u", "crdt.digest", "a1") == b"+OK\r\n"
    assert call("ACL", "DRYRUN", "u", "crdt.digest") == b"+OK\r\n"
    assert call("ACL", "DRYRUN", "u", "crdt.digest", "b") == bulk("This user has no permissions to access the 'b' key")
    sync = ("crdt.sync", "1", "r", "i", "1", "x")
    assert call("ACL", "DRYRUN", "u", *sync) == bulk(
        "This user has no permissions to run the 'crdt.sync' command")
    assert call("ACL", "SETUSER", "repl", "on", "nopass", "+crdt.sync") == b"+OK\r\n"
    assert call("ACL", "DRYRUN", "repl", *sync) == b"+OK\r\n"
    assert b"crdt.sync" in call("ACL", "CAT", "dangerous") and b"crdt.sync" in call("ACL", "CAT", "admin")


def test_random_acl_commands_never_fail_unexpectedly() -> None:
    """Seeded random ACL / AUTH / keyed commands with odd bytes: every reply is a Redis reply
    or error, none is our "unexpected error" (a handler raising)."""
    import random

    from tests.inprocess import connect, send, start_server

    rng = random.Random(15)
    server, _, client, transport = start_server()
    atoms = [b"on", b">", b"<", b"#", b"!", b"~", b"%", b"&", b"(", b")", b"+", b"-", b"@", b"|",
             b"*", b"get", b"client", b"id", b"all", b"read", b"R", b"W", b"\x00", b"\xff", b" ",
             b"reset", b"nopass", b"allkeys", b"select", b"0", b"\"", b"'", b"-1", b"99999999999999999999"]

    def word() -> bytes:
        return b"".join(rng.choice(atoms) for _ in range(rng.randint(0, 4)))

    for i in range(600):
        sub = rng.choice([b"SETUSER", b"DRYRUN", b"GETUSER", b"DELUSER", b"CAT", b"LOG", b"GENPASS",
                          b"LIST", b"USERS", b"WHOAMI", b"LOAD", b"SAVE", b"HELP", word()])
        cmd = rng.choice([
            [b"ACL", sub, rng.choice([b"u", word()])] + [word() for _ in range(rng.randint(0, 4))],
            [b"AUTH", rng.choice([b"u", b"default", word()]), word()],
            [b"HELLO", b"3", b"AUTH", b"u", word()],
            [rng.choice([b"GET", b"SET", b"SORT", b"CLIENT", b"SELECT", b"MULTI", b"EXEC"]), word(), word()],
        ])
        out = send(client, transport, tuple(cmd))
        assert out and b"unexpected error" not in out, (cmd, out)
        if client.closing:
            client, transport = connect(server)
        if i % 40 == 0:  # back to a default user that may run everything
            send(client, transport, (b"ACL", b"SETUSER", b"default", b"on", b"nopass", b"+@all", b"~*", b"&*"))
            send(client, transport, (b"RESET",))
    assert server.stats.unexpected_errors == 0
