"""Every error reply, character for character as Redis 7 prints it (without the '-')."""

from __future__ import annotations

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
AUTH_NOT_CONFIGURED = (
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)
SYNTAX = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
NAN_OR_INF = "ERR increment would produce NaN or Infinity"
NO_SUCH_KEY = "ERR no such key"
DB_INDEX = "ERR DB index is out of range"
INVALID_DB_INDEX = "ERR invalid DB index"
INVALID_EXPIRE = "ERR invalid expire time in '%s' command"
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
BIT_OFFSET = "ERR bit offset is not an integer or out of range"
BIT_VALUE = "ERR bit is not an integer or out of range"
OFFSET_RANGE = "ERR offset is out of range"
HLL_WRONGTYPE = "WRONGTYPE Key is not a valid HyperLogLog string value."
HLL_INVALID = "INVALIDOBJ Corrupted HLL object detected"
NOT_POSITIVE = "ERR value is out of range, must be positive"
OUT_OF_RANGE = "ERR value is out of range"
HASH_NOT_INTEGER = "ERR hash value is not an integer"
HASH_NOT_FLOAT = "ERR hash value is not a float"
INVALID_CURSOR = "ERR invalid cursor"
MULTI_NESTED = "ERR MULTI calls can not be nested"
EXEC_WITHOUT_MULTI = "ERR EXEC without MULTI"
DISCARD_WITHOUT_MULTI = "ERR DISCARD without MULTI"
WATCH_IN_MULTI = "ERR WATCH inside MULTI is not allowed"
NOT_IN_MULTI = "ERR Command not allowed inside a transaction"
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
EXECABORT_BECAUSE = "EXECABORT Transaction discarded because of: %s"
OOM = "OOM command not allowed when used memory > 'maxmemory'."
# Writes refused after a failed op log write/fsync (Redis: the AOF) or snapshot (Redis: BGSAVE).
MISCONF_AOF = "MISCONF Errors writing to the AOF file: %s"
MISCONF_RDB = ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "
               "to disk. Commands that may modify the data set are disabled, because this instance is "
               "configured to report errors during writes if RDB snapshotting fails "
               "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the "
               "RDB error.")
MAX_CLIENTS = "ERR max number of clients reached"
NUMKEYS_POSITIVE = "ERR numkeys should be greater than 0"
NUMKEYS_TOO_MANY = "ERR Number of keys can't be greater than number of args"
LIMIT_NEGATIVE = "ERR LIMIT can't be negative"
SOURCE_DEST_SAME = "ERR source and destination objects are the same"
RANGE_BETWEEN = "ERR value is out of range, value must between %d and %d"
VALUE_NAN_OR_INF = "ERR value is NaN or Infinity"
DECREMENT_OVERFLOW = "ERR decrement would overflow"
BIT_ARGUMENT = "ERR The bit argument must be 1 or 0."
EXPIRE_UNSUPPORTED_OPTION = "ERR Unsupported option %s"
EXPIRE_NX_AND_XX_GT_LT = "ERR NX and XX, GT or LT options at the same time are not compatible"
EXPIRE_GT_AND_LT = "ERR GT and LT options at the same time are not compatible"

# Requests Redis cannot parse (networking.c); the connection is closed after the reply.
PROTO_TOO_BIG_INLINE = "ERR Protocol error: too big inline request"
PROTO_UNBALANCED_QUOTES = "ERR Protocol error: unbalanced quotes in request"
PROTO_TOO_BIG_MBULK_COUNT = "ERR Protocol error: too big mbulk count string"
PROTO_INVALID_MULTIBULK = "ERR Protocol error: invalid multibulk length"
PROTO_UNAUTH_MULTIBULK = "ERR Protocol error: unauthenticated multibulk length"
PROTO_TOO_BIG_BULK_COUNT = "ERR Protocol error: too big bulk count string"
PROTO_EXPECTED_DOLLAR = "ERR Protocol error: expected '$', got '%s'"
PROTO_INVALID_BULK = "ERR Protocol error: invalid bulk length"
PROTO_UNAUTH_BULK = "ERR Protocol error: unauthenticated bulk length"

# Connections and clients (HELLO, CLIENT)
NOPROTO = "NOPROTO unsupported protocol version"
PROTOCOL_VERSION = "ERR Protocol version is not an integer or out of range"
HELLO_OPTION_SYNTAX = "ERR Syntax error in HELLO option '%s'"
HELLO_NOAUTH = (
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    "HELLO AUTH <user> <pass> option can be used to authenticate the client and "
    "select the RESP protocol version at the same time"
)
CLIENT_NAME_CHARS = "ERR Client names cannot contain spaces, newlines or special characters."
CLIENT_INFO_CHARS = "ERR %s cannot contain spaces, newlines or special characters."
CLIENT_UNKNOWN_TYPE = "ERR Unknown client type '%s'"
CLIENT_INVALID_ID = "ERR Invalid client ID"
CLIENT_ID_POSITIVE = "ERR client-id should be greater than 0"
CLIENT_NO_SUCH_USER = "ERR No such user '%s'"
CLIENT_NO_SUCH_CLIENT = "ERR No such client"
CLIENT_UNKNOWN_SUBCOMMAND = "ERR unknown subcommand or wrong number of arguments for '%s'. Try CLIENT HELP."
PUBSUB_UNKNOWN_SUBCOMMAND = "ERR unknown subcommand or wrong number of arguments for '%s'. Try PUBSUB HELP."
CLIENT_UNRECOGNIZED_OPTION = "ERR Unrecognized option '%s'"

# Server commands (COMMAND GETKEYS, SHUTDOWN ABORT, CONFIG SET)
GETKEYS_INVALID_COMMAND = "ERR Invalid command specified"
GETKEYS_NO_KEYS = "ERR The command has no key arguments"
GETKEYS_ARITY = "ERR Invalid number of arguments specified for command"
GETKEYS_INVALID_ARGS = "ERR Invalid arguments specified for command"
NO_SHUTDOWN = "ERR No shutdown in progress."
CONFIG_SET_FAILED = "ERR CONFIG SET failed (possibly related to argument '%s') - %s"
CONFIG_SET_UNKNOWN = "ERR Unknown option or number of arguments for CONFIG SET - '%s'"
CONFIG_SET_PORT_REASON = "Unable to listen on this port"
CONFIG_SET_BIND_REASON = "Failed to bind to specified addresses."
CONFIG_SET_TLS_PORT_REASON = "Unable to listen on this port. Check server logs."
CONFIG_SET_TLS_REASON = "Unable to update TLS configuration. Check server logs."
# ours: a region's op log and snapshot live in the directory it started with
CONFIG_SET_DIR_REASON = "the data directory of a running region cannot change (activekv)"
MODULE_NOT_ALLOWED = (
    "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", "
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server."
)
DEBUG_NOT_ALLOWED = (
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server."
)

# Active-active commands (CRDT.*, WAIT)
NO_REPLICATION = "ERR replication is not enabled in this process"
INVALID_TOKEN = "ERR invalid token"
TIMEOUT_NEGATIVE = "ERR timeout is negative"


# Lists (t_list.c)
INDEX_OUT_OF_RANGE = "ERR index out of range"
LPOS_RANK_ZERO = (
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    "or use negative to start from the end of the list"
)
LPOS_COUNT_NEGATIVE = "ERR COUNT can't be negative"
LPOS_MAXLEN_NEGATIVE = "ERR MAXLEN can't be negative"

def unknown_command(argv: list[bytes]) -> str:
    """Redis's processCommand: the name (128 bytes) and its first args (128 bytes), each
    printed with %s, so a NUL byte ends it."""
    args = b""
    for arg in argv[1:]:
        if len(args) >= 128:
            break
        args += b"'%s' " % _cstr(arg)[: 128 - len(args)]
    return "ERR unknown command '%s', with args beginning with: %s" % (_text(_cstr(argv[0])[:128]), _text(args))


def unknown_subcommand(sub: bytes, container: str) -> str:
    return "ERR unknown subcommand '%s'. Try %s HELP." % (_text(_cstr(sub)[:128]), container.upper())


def unexpected_error(command: str, exc: Exception) -> str:
    """Ours (Redis has no such reply): a handler raised an exception that is not an error
    reply. One line, at most about 200 characters of the exception's text."""
    text = str(exc).replace("\r", " ").replace("\n", " ")
    if len(text) > 200:
        text = text[:200] + "..."
    what = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return f"ERR unexpected error in '{command}': {what}"


def arg_text(data: bytes) -> str:
    """An argument in an error message as Redis prints it with %s: up to a NUL byte, its
    bytes as sent (``resp.encode`` writes them back unchanged), CR/LF as spaces."""
    return _text(_cstr(data))


def _cstr(data: bytes) -> bytes:
    return data.split(b"\0", 1)[0]


def wrong_arity(name: str) -> str:
    return "ERR wrong number of arguments for '%s' command" % name


def _text(data: bytes) -> str:
    """Bytes into an error text that ``resp.encode`` turns back into the same bytes (Redis
    prints them with %s: a non-UTF-8 name comes back as sent)."""
    return data.decode("utf-8", "surrogateescape").replace("\r", " ").replace("\n", " ")

# Sorted sets (t_zset.c)
ZADD_XX_NX = "ERR XX and NX options at the same time are not compatible"
ZADD_GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
ZADD_INCR_PAIR = "ERR INCR option supports a single increment-element pair"
ZADD_NAN = "ERR resulting score is not a number (NaN)"
ZSET_MIN_MAX_NOT_FLOAT = "ERR min or max is not a float"
ZSET_LEX_RANGE = "ERR min or max not valid string range item"
ZRANGE_LIMIT_RANK = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
ZRANGE_WITHSCORES_LEX = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"

# LMPOP, ZMPOP (t_list.c, t_zset.c)
COUNT_POSITIVE = "ERR count should be greater than 0"

# ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD (t_zset.c)
ZSET_INPUT_KEYS = "ERR at least 1 input key is needed for '%s' command"
ZSET_WEIGHT_NOT_FLOAT = "ERR weight value is not a float"

# SORT (sort.c)
SORT_NOT_DOUBLE = "ERR One or more scores can't be converted into double"

# GEO (geo.c)
GEO_UNIT = "ERR unsupported unit provided. please use M, KM, FT, MI"
GEO_INVALID_PAIR = "ERR invalid longitude,latitude pair %f,%f"
GEO_NEED_RADIUS = "ERR need numeric radius"
GEO_NEED_WIDTH = "ERR need numeric width"
GEO_NEED_HEIGHT = "ERR need numeric height"
GEO_RADIUS_NEGATIVE = "ERR radius cannot be negative"
GEO_BOX_NEGATIVE = "ERR height or width cannot be negative"
GEO_MEMBER = "ERR could not decode requested zset member"
GEO_COUNT = "ERR COUNT must be > 0"
GEO_ANY_COUNT = "ERR the ANY argument requires COUNT argument"
GEO_STORE_WITH = "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
GEO_FROM = "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %s"
GEO_BY = "ERR exactly one of BYRADIUS and BYBOX can be specified for %s"

# DUMP / RESTORE (cluster.c), OBJECT (object.c), MOVE / SWAPDB (db.c)
BUSYKEY = "BUSYKEY Target key name already exists."
DUMP_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_DATA_FORMAT = "ERR Bad data format"
INVALID_TTL = "ERR Invalid TTL value, must be >= 0"
INVALID_IDLETIME = "ERR Invalid IDLETIME value, must be >= 0"
INVALID_FREQ = "ERR Invalid FREQ value, must be >= 0 and <= 255"
DB_INDEX_OUT_OF_RANGE = "ERR DB index is out of range"
SWAPDB_FIRST = "ERR invalid first DB index"
SWAPDB_SECOND = "ERR invalid second DB index"
SWAPDB_WITH_PEERS = ("ERR SWAPDB is not supported while peer regions are configured "
                     "(it does not commute with concurrent writes in other regions)")
OBJECT_NO_LFU = ("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
                 "that when switching between policies at runtime LRU and LFU data will take some time "
                 "to adjust.")
OBJECT_LFU = ("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
              "switching between policies at runtime LRU and LFU data will take some time to adjust.")

# ACL (acl.c, server.c's processCommand, multi.c's execCommand)
NOPERM_COMMAND = "NOPERM this user has no permissions to run the '%s' command"
NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = "NOPERM this user has no permissions to access one of the channels used as arguments"
NOPERM_EXEC = ("NOPERM ACLs rules changed between the moment the transaction was accumulated and "
               "the EXEC call. This command is no longer allowed for the following reason: %s")
ACL_USERNAME_SPACES = "ERR Usernames can't contain spaces or null characters"
ACL_UNMATCHED_PAREN = "ERR Unmatched parenthesis in acl selector starting at '%s'."
ACL_SETUSER_MODIFIER = "ERR Error in ACL SETUSER modifier '%s': %s"
ACL_DELUSER_DEFAULT = "ERR The 'default' user cannot be removed"
ACL_NO_USER = "ERR User '%s' not found"
ACL_NO_COMMAND = "ERR Command '%s' not found"
ACL_UNKNOWN_CATEGORY = "ERR Unknown category '%s'"
ACL_GENPASS_BITS = ("ERR ACL GENPASS argument must be the number of bits for the output password, "
                    "a positive number up to 4096")
ACL_NO_FILE = ("ERR This Redis instance is not configured to use an ACL file. You may want to "
               "specify users via the ACL SETUSER command and then issue a CONFIG REWRITE "
               "(assuming you have a Redis configuration file set) in order to store users in "
               "the Redis configuration.")
ACL_SAVE_FAILED = ("ERR There was an error trying to save the ACLs. Please check the server logs "
                   "for more information")
ACL_SUBCOMMAND_SYNTAX = "ERR unknown subcommand or wrong number of arguments for '%s'. Try ACL HELP."
