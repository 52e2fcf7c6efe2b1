"""Redis's own serialization of one value (RDB version 10, Redis 7.0), for DUMP and RESTORE.

``objects.dump_payload`` turns a key's visible content into the bytes Redis 7.0.15's DUMP
produces for the same value (type byte, object body, 2-byte RDB version, CRC64 footer);
``objects.load_payload`` reads a payload from any Redis up to 7.0 (older encodings such as
ziplists and zipmaps included) into the effects that recreate the value here. The building
blocks are Redis's formats, written from its sources: ``lzf`` (lzf_c.c/lzf_d.c), ``listpack``
(listpack.c), ``ziplist`` (ziplist.c, zipmap.c), ``intset`` (intset.c), ``rdbio`` (rdb.c's
lengths, strings and doubles), ``crc64`` (crc64.c).
"""
