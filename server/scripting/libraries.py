"""Redis's extra Lua libraries: ``bit`` (LuaBitOp), ``cjson``, ``cmsgpack`` and ``struct``.
lupa's Lua 5.1 ships none of them; each is Python glue (bit behind a thin Lua wrapper that
checks arguments the way the C library does). Errors raised by the glue become Lua errors at
the caller's line, as ``luaL_error`` does in C."""

from __future__ import annotations

from typing import Any

from server.scripting import cjson, cmsgpack, structlib

BIT_LUA = b"""
local py = ...
local tonumber, type, error, select = tonumber, type, error, select
local function num(x, i, name)
    local n = tonumber(x)
    if n == nil or (type(x) ~= 'number' and type(x) ~= 'string') then
        error("bad argument #" .. i .. " to '" .. name .. "' (number expected, got " ..
              (x == nil and 'no value' or type(x)) .. ")", 3)
    end
    return n
end
local function unary(name)
    local f = py[name]
    return function(x) return f(num(x, 1, name)) end
end
local function binary(name)
    local f = py[name]
    return function(x, n) return f(num(x, 1, name), num(n, 2, name)) end
end
local function fold(name)
    local f = py[name]
    return function(...)
        local acc = num((...), 1, name)
        for i = 2, select('#', ...) do acc = f(acc, num((select(i, ...)), i, name)) end
        return f(acc, acc, true)
    end
end
local bit = {
    tobit = unary('tobit'), bnot = unary('bnot'), bswap = unary('bswap'),
    band = fold('band'), bor = fold('bor'), bxor = fold('bxor'),
    lshift = binary('lshift'), rshift = binary('rshift'), arshift = binary('arshift'),
    rol = binary('rol'), ror = binary('ror'),
}
local tohex = py.tohex
function bit.tohex(x, n)
    x = num(x, 1, 'tohex')
    if n == nil then n = 8 else n = num(n, 2, 'tohex') end
    return tohex(x, n)
end
return bit
"""


def _u32(x: float) -> int:
    """LuaBitOp's argument conversion: round to nearest (even), keep the low 32 bits."""
    return int(round(x)) & 0xFFFFFFFF


def _s32(u: int) -> int:
    u &= 0xFFFFFFFF
    return u - (1 << 32) if u & 0x80000000 else u


def _bit_ops() -> dict[bytes, Any]:
    def fold(op: Any) -> Any:
        def f(a: float, b: float, final: bool = False) -> int:
            if final:
                return _s32(_u32(a))
            return _s32(op(_u32(a), _u32(b)))
        return f

    def tohex(x: float, n: float) -> bytes:
        digits = int(n)
        upper = digits < 0
        digits = min(abs(digits), 8)
        text = "%0*x" % (digits, _u32(x) & ((1 << (4 * digits)) - 1)) if digits else ""
        return (text.upper() if upper else text).encode()

    return {
        b"tobit": lambda x: _s32(_u32(x)),
        b"bnot": lambda x: _s32(~_u32(x)),
        b"bswap": lambda x: _s32(int.from_bytes(_u32(x).to_bytes(4, "little"), "big")),
        b"band": fold(lambda a, b: a & b),
        b"bor": fold(lambda a, b: a | b),
        b"bxor": fold(lambda a, b: a ^ b),
        b"lshift": lambda x, n: _s32(_u32(x) << (_u32(n) & 31)),
        b"rshift": lambda x, n: _s32(_u32(x) >> (_u32(n) & 31)),
        b"arshift": lambda x, n: _s32(_s32(_u32(x)) >> (_u32(n) & 31)),
        b"rol": lambda x, n: _s32((_u32(x) << (_u32(n) & 31)) | (_u32(x) >> ((32 - (_u32(n) & 31)) & 31))),
        b"ror": lambda x, n: _s32((_u32(x) >> (_u32(n) & 31)) | (_u32(x) << ((32 - (_u32(n) & 31)) & 31))),
        b"tohex": tohex,
    }


class ScriptError(Exception):
    """Raised by a Python callback to raise ``value`` (an error table or message) in Lua."""

    def __init__(self, value: Any) -> None:
        super().__init__("script error")
        self.value = value


def load_chunk(rt: Any, source: bytes, chunkname: bytes, *args: Any) -> Any:
    """Run a Lua chunk under its own name (tracebacks and the error handler use it)."""
    loader = rt.eval(b"function(src, name, ...) return assert(loadstring(src, name))(...) end")
    return loader(source, chunkname, *args)


CJSON_LUA = b"""
local py, null = ...
local encode, decode, type, error = py.encode, py.decode, type, error
local cjson = {null = null, _NAME = "cjson", _VERSION = "2.1.0"}
cjson.encode = encode
cjson.decode = decode
local function ignored() end
for _, name in ipairs({"encode_sparse_array", "encode_max_depth", "decode_max_depth",
                       "encode_number_precision", "encode_keep_buffer", "encode_invalid_numbers",
                       "decode_invalid_numbers"}) do cjson[name] = ignored end
return cjson
"""


def _raising(api: Any, fn: Any, error: type[Exception]) -> Any:
    """A Python library function whose ``error`` becomes a Lua error at the caller's line."""
    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except error as exc:
            raise ScriptError(api.where() + str(exc).encode()) from None
    return call


def install(rt: Any, api: Any, rand: Any) -> None:
    """Add the libraries to the sandbox being built (before ``api.finish()``), and Redis's
    math.random/math.randomseed (``rand``: the process's ``Rand48``)."""
    math_table = rt.globals()[b"math"]
    for name, fn in random_functions(rand).items():
        math_table[name] = _raising(api, fn, RandomError)
    def encode(*args: Any) -> bytes:
        if len(args) != 1:
            raise cjson.CJsonError("bad argument #1 to 'encode' (expected 1 argument)")
        return cjson.encode_top(args[0]).encode("latin-1")

    def decode(*args: Any) -> Any:
        if len(args) != 1 or type(args[0]) not in (bytes, int, float):
            raise cjson.CJsonError("bad argument #1 to 'decode' (expected 1 argument)")
        text = args[0] if type(args[0]) is bytes else b"%.14g" % args[0]
        return decode_json(text)

    decode_json = cjson.decoder(rt.table_from, api.null)
    glue = rt.table_from({b"encode": _raising(api, encode, cjson.CJsonError),
                          b"decode": _raising(api, decode, cjson.CJsonError)})
    api.add_library(b"cjson", load_chunk(rt, CJSON_LUA, b"=cjson", glue, api.null))
    packer = {name: _raising(api, fn, cmsgpack.CMsgpackError)
              for name, fn in cmsgpack.functions(rt.table_from).items()}
    packer[b"_NAME"] = b"cmsgpack"
    packer[b"_VERSION"] = b"lua-cmsgpack 0.4.0"
    api.add_library(b"cmsgpack", rt.table_from(packer))
    api.add_library(b"struct", rt.table_from(
        {name: _raising(api, fn, structlib.StructError) for name, fn in structlib.functions().items()}))
    api.add_library(b"bit", load_chunk(rt, BIT_LUA, b"=bit", rt.table_from(_bit_ops())))


class Rand48:
    """Redis's math.random: rand48 (``redisLrand48``), the same sequence on every platform,
    shared by every script of the process and never reseeded between scripts."""

    A, C, MASK = 0x5DEECE66D, 0xB, (1 << 48) - 1
    INT32_MAX = (1 << 31) - 1

    def __init__(self) -> None:
        self.x = 0x1234ABCD330E

    def seed(self, n: int) -> None:
        self.x = ((n & 0xFFFFFFFF) << 16 | 0x330E) & self.MASK

    def next(self) -> float:
        self.x = (self.A * self.x + self.C) & self.MASK
        return (self.x >> 17) % self.INT32_MAX / self.INT32_MAX


class RandomError(Exception):
    pass


def _checkint(args: tuple[Any, ...], n: int, fname: str) -> int:
    v = args[n - 1]
    if type(v) in (int, float):
        return int(v)
    if type(v) is bytes:
        try:
            return int(float(v))
        except ValueError:
            pass
    got = {type(None): "nil", bool: "boolean", bytes: "string"}.get(type(v), "table")
    raise RandomError(f"bad argument #{n} to '{fname}' (number expected, got {got})")


def random_functions(rand: Rand48) -> dict[bytes, Any]:
    import math

    def random(*args: Any) -> float:
        r = rand.next()
        if not args:
            return r
        if len(args) == 1:
            u = _checkint(args, 1, "random")
            if u < 1:
                raise RandomError("bad argument #1 to 'random' (interval is empty)")
            return math.floor(r * u) + 1
        if len(args) == 2:
            lo, hi = _checkint(args, 1, "random"), _checkint(args, 2, "random")
            if lo > hi:
                raise RandomError("bad argument #2 to 'random' (interval is empty)")
            return math.floor(r * (hi - lo + 1)) + lo
        raise RandomError("wrong number of arguments")

    def randomseed(*args: Any) -> None:
        if not args:
            raise RandomError("bad argument #1 to 'randomseed' (number expected, got no value)")
        rand.seed(_checkint(args, 1, "randomseed"))

    return {b"random": random, b"randomseed": randomseed}
