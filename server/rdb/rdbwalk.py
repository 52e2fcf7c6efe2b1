"""Where one serialized object ends, without decoding it (rdb.c's rdbLoadObject, reading
lengths and skipping bodies).

An RDB file is a sequence of records whose values carry no overall length: finding the next
record means walking the value. ``skip_value`` does that for every object type Redis 7.0 can
load (rdbIsObjectType: 0-7 and 9-19) by reading only the lengths, string headers and fixed
fields of the object, never decompressing or decoding a body, so a file's values can be cut
out as DUMP payloads (``objects.load_payload`` decodes them later, where RESTORE runs). A
truncated object raises ``FormatError``; so does an unknown type. A module value raises
``ModuleValue`` naming the module type, as Redis refuses a module it has not loaded (its
typed fields can still be skipped: ``skip_module_fields``); the pre-7.0 module format (type 6)
is refused as Redis 7.0 refuses it.
"""

from __future__ import annotations

from server.rdb import objects as o
from server.rdb.listpack import FormatError
from server.rdb.rdbio import ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF, Reader

# moduleTypeNameByID's 64-character set (module.c, ModuleTypeNameCharSet)
_MODULE_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
TYPE_MODULE_PRE_GA = 6

# the single-string encodings: ziplists, zipmaps, intsets and listpacks
_ONE_STRING = frozenset({
    o.TYPE_STRING, o.TYPE_HASH_ZIPMAP, o.TYPE_LIST_ZIPLIST, o.TYPE_SET_INTSET, o.TYPE_ZSET_ZIPLIST,
    o.TYPE_HASH_ZIPLIST, o.TYPE_HASH_LISTPACK, o.TYPE_ZSET_LISTPACK,
})
_INT_WIDTH = {ENC_INT8: 1, ENC_INT16: 2, ENC_INT32: 4}


class ModuleValue(Exception):
    """A module's value or aux data: ``name`` is the 9-character module type name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


# RDB_MODULE_OPCODE_*: a module value of RDB_TYPE_MODULE_2 is a sequence of typed fields
MODULE_EOF, MODULE_SINT, MODULE_UINT, MODULE_FLOAT, MODULE_DOUBLE, MODULE_STRING = range(6)


def skip_module_fields(r: Reader) -> None:
    """rdbLoadCheckModuleValue: the typed fields of a module value up to its EOF opcode."""
    while True:
        opcode = r.length()
        if opcode == MODULE_EOF:
            return
        if opcode in (MODULE_SINT, MODULE_UINT):
            r.length()
        elif opcode == MODULE_FLOAT:
            skip(r, 4)
        elif opcode == MODULE_DOUBLE:
            skip(r, 8)
        elif opcode == MODULE_STRING:
            skip_string(r)
        else:
            raise FormatError(f"Unknown module opcode {opcode}")


def module_type_name(module_id: int) -> str:
    """moduleTypeNameByID: the 54 high bits are 9 characters of 6 bits, first one highest;
    the low 10 bits are the encoding version."""
    module_id >>= 10
    chars = []
    for _ in range(9):
        chars.append(_MODULE_CHARSET[module_id & 63])
        module_id >>= 6
    return "".join(reversed(chars))


def skip(r: Reader, n: int) -> None:
    end = r.pos + n
    if n < 0 or end > len(r.data):
        raise FormatError("truncated payload")
    r.pos = end


def skip_string(r: Reader) -> None:
    """An RDB string in any encoding (raw, integer, LZF) without reading its bytes."""
    n, special = r.length_or_encoding()
    if not special:
        skip(r, n)
    elif n in _INT_WIDTH:
        skip(r, _INT_WIDTH[n])
    elif n == ENC_LZF:
        clen = r.length()
        r.length()  # the uncompressed length
        skip(r, clen)
    else:
        raise FormatError("unknown string encoding")


def _skip_strings(r: Reader, per_item: int) -> None:
    for _ in range(r.length()):
        for _ in range(per_item):
            skip_string(r)


def _skip_stream(r: Reader, v2: bool) -> None:
    """RDB_TYPE_STREAM_LISTPACKS(_2): the listpack nodes, the metadata, the groups."""
    _skip_strings(r, 2)  # (master ID, listpack) per node
    r.length()  # length
    r.length(), r.length()  # last ID
    if v2:
        r.length(), r.length()  # first ID
        r.length(), r.length()  # max deleted entry ID
        r.length()  # entries added
    for _ in range(r.length()):  # consumer groups
        skip_string(r)  # name
        r.length(), r.length()  # last delivered ID
        if v2:
            r.length()  # entries read
        for _ in range(r.length()):  # the group's PEL
            skip(r, 16 + 8)  # raw ID, delivery time (ms)
            r.length()  # delivery count
        for _ in range(r.length()):  # consumers
            skip_string(r)  # name
            skip(r, 8)  # seen time (ms)
            skip(r, 16 * r.length())  # the consumer's PEL: raw IDs


def skip_value(r: Reader, rdb_type: int) -> None:
    """Moves ``r`` past one object of ``rdb_type`` (the type byte already read)."""
    if rdb_type in _ONE_STRING:
        skip_string(r)
    elif rdb_type in (o.TYPE_LIST, o.TYPE_SET, o.TYPE_LIST_QUICKLIST):
        _skip_strings(r, 1)
    elif rdb_type == o.TYPE_HASH:
        _skip_strings(r, 2)
    elif rdb_type == o.TYPE_ZSET:
        for _ in range(r.length()):
            skip_string(r)
            n = r.byte()  # rdbLoadDoubleValue: 253-255 are nan/inf/-inf, else a length
            if n < 253:
                skip(r, n)
    elif rdb_type == o.TYPE_ZSET_2:
        for _ in range(r.length()):
            skip_string(r)
            skip(r, 8)
    elif rdb_type == o.TYPE_LIST_QUICKLIST_2:
        for _ in range(r.length()):
            r.length()  # container: plain or packed
            skip_string(r)
    elif rdb_type in (o.TYPE_STREAM_LISTPACKS, o.TYPE_STREAM_LISTPACKS_2):
        _skip_stream(r, rdb_type == o.TYPE_STREAM_LISTPACKS_2)
    elif rdb_type == TYPE_MODULE_PRE_GA:
        raise FormatError("Pre-release module format not supported")
    elif rdb_type == o.TYPE_MODULE_2:
        raise ModuleValue(module_type_name(r.length()))
    else:
        raise FormatError(f"Unknown RDB encoding type {rdb_type}")
