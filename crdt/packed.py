"""The packed contents' classes (``crdt.packing``): bytes subclasses, one per packable type.

They live in this module, which stays Python, so that compiled code checks ``isinstance(x,
Packed)`` as Python does: mypyc compiles the classes of a compiled module that subclass a
builtin as Python classes, but then tests ``isinstance`` against them by exact type (it does not
see their subclasses), which every per-type subclass would fail (crdt/entry.py)."""

from __future__ import annotations


class Packed(bytes):
    """A packed content: the msgpack of its compact form or its ``encode``; ``type_name`` is a
    class attribute of the per-type subclass, so the instance is a plain bytes object.

    An entry whose only part is a packed content holds it in its ``x`` slot directly, with no
    ``EntryExtra`` (64 bytes a key): so a packed content also reads as the ``EntryExtra`` it
    stands for, one whose ``other`` is itself and whose other parts are empty. ``Entry`` turns
    it back into an ``EntryExtra`` before anything is written to it."""

    __slots__ = ()
    type_name = ""

    def is_empty(self) -> bool:
        return False  # only non-empty contents are packed

    @property
    def other(self) -> Packed:
        return self

    @property
    def expire(self) -> None:
        return None

    @property
    def more(self) -> None:
        return None

    @property
    def contribs(self) -> None:
        return None


# One subclass per packable type (``crdt.packing.PACKABLE``).
class PackedZset(Packed):
    __slots__ = ()
    type_name = "zset"


class PackedList(Packed):
    __slots__ = ()
    type_name = "list"


class PackedHash(Packed):
    __slots__ = ()
    type_name = "hash"


class PackedSet(Packed):
    __slots__ = ()
    type_name = "set"
