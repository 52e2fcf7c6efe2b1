"""INFO memory's ``lazyfreed_objects``: what Redis 7.0 would have handed to its lazy-free
thread (lazyfree.c). activekv frees at once (``lazyfree_pending_objects`` is always 0); the
counter counts what Redis counts:

* UNLINK (and DEL with ``lazyfree-lazy-user-del yes``) of a value whose free effort is above
  ``LAZYFREE_THRESHOLD`` (lazyfreeGetFreeEffort): the quicklist nodes of a list, the
  elements of a hashtable set or hash or of a skiplist sorted set, for a stream its radix
  tree's nodes plus, per consumer group, one plus the first group's PEL size; 1 otherwise.
* FLUSHDB / FLUSHALL ASYNC (or without a mode and ``lazyfree-lazy-user-flush yes``): every
  key of the emptied databases (emptyDbAsync), past their time or not.

Not counted: lazy expiry, eviction and server deletions (``lazyfree-lazy-expire`` and the
others), which Redis would also count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.commands.common import TYPE_COMMANDS
from server.commands.streams_info import rax_nodes
from server.rdb.builtin import quicklist_nodes

if TYPE_CHECKING:
    from server.config import Config

LAZYFREE_THRESHOLD = 64
_QUICKLIST_NODE_BYTES = 8192  # list-max-listpack-size -2


def free_effort(entry: Any, cfg: Config) -> int:
    """Redis 7.0's lazyfreeGetFreeEffort for the value of ``entry``."""
    kind = entry.kind
    if kind == "string":
        return 1
    content = entry.content()
    if kind == "list":
        n = len(content)
        if n <= LAZYFREE_THRESHOLD:
            return n  # at most one node per element
        if sum(map(len, content)) > (LAZYFREE_THRESHOLD + 1) * _QUICKLIST_NODE_BYTES:
            return n  # more nodes than the threshold, whatever the split
        return len(quicklist_nodes(list(content)))
    if kind == "stream":
        starts = sorted({k[0].to_bytes(8, "big") + k[1].to_bytes(8, "big") for k in content.nodes.starts})
        effort = rax_nodes(starts)
        groups = content.live_groups()
        if groups:
            effort += len(groups) * (1 + len(groups[0][1].pel))
        return effort
    encoding = TYPE_COMMANDS[kind].encoding(content, cfg)
    if encoding in (b"hashtable", b"skiplist"):
        return len(content)
    return 1


def lazily_freed(entry: Any, cfg: Config) -> bool:
    return free_effort(entry, cfg) > LAZYFREE_THRESHOLD


def flush_is_async(argv: list[bytes], cfg: Config) -> bool:
    """FLUSHDB/FLUSHALL's mode (getFlushCommandFlags): ASYNC, or the user-flush default."""
    if len(argv) > 1:
        return argv[1].lower() == b"async"
    return bool(cfg.get("lazyfree-lazy-user-flush"))
