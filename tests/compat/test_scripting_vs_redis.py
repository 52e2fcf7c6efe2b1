"""EVAL / EVALSHA / EVAL_RO / EVALSHA_RO / SCRIPT, activekv against a real redis-server, in
RESP2 and RESP3 (``diff``): Lua <-> Redis type conversions both ways, the sandbox, error
replies byte for byte (line numbers and the ``script: <sha>, on @user_script:N.`` suffix),
shebang flags, KEYS/ARGV, the script cache, MULTI/WATCH interplay."""

from __future__ import annotations

import pytest

from tests.compat.test_transactions_vs_redis import Other, other  # noqa: F401  (fixture)
from tests.conftest import Differential


def ev(diff: Differential, script: str, *keys_and_args: str, numkeys: int = 0) -> None:
    diff.check("EVAL", script, numkeys, *keys_and_args)


RETURNS = [
    "return 1", "return -7", "return 3.99", "return -3.99", "return 'hello'", "return ''",
    "return true", "return false", "return nil", "return {}", "return {1, 2, 3}",
    "return {1, 'two', {3, 'four', {5}}}", "return {1, 2, nil, 4}", "return {nil, 1}",
    "return {ok='FINE'}", "return {err='MYERR something'}", "return {err='noprefix'}",
    "return redis.status_reply('STATUS')", "return redis.error_reply('MY err')",
    "return redis.error_reply('-CODE text')", "return redis.error_reply('x')",
    "return redis.error_reply(1)", "return redis.status_reply()", "return {1, {err='inner'}, 3}",
    "return {ok='a\\r\\nb'}", "return 2^53", "return 1e300", "return -1e300", "return 0/0",
    "return {true, false, 1}", "return {double=3.5}", "return {map={a=1}}",
    "return {set={a=true}}", "return {big_number='123456789012345678901234567890'}",
    "return {verbatim_string={format='txt', string='hi'}}", "return {verbatim_string={format='markdown', string='x'}}",
    "return print", "return coroutine.create(function() end)", "return redis.sha1hex('abc')",
    "return redis.sha1hex(12)", "return redis.REDIS_VERSION", "return redis.REDIS_VERSION_NUM",
    "return redis.replicate_commands()", "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
    "return _VERSION", "return type(loadstring)", "return tostring(1/3)", "return string.format('%5.2f', 3.14159)",
    "return table.concat({'a', 'b'}, '-')", "return math.floor(7.9)", "return #KEYS + #ARGV",
    "return select('#', 1, nil, 3)", "return string.rep('ab', 3)", "return tonumber('0x10')",
]


@pytest.mark.parametrize("script", RETURNS)
def test_lua_to_redis_conversions(diff: Differential, script: str) -> None:
    ev(diff, script)


@pytest.mark.parametrize("script", [
    "return {true, false, 1}", "return true", "return false", "return nil", "return {double=0.1}",
    "return {map={k={1, 2}}}", "return {set={x=true}}", "return {big_number='12'}",
    "return {verbatim_string={format='txt', string='hi'}}",
])
def test_lua_to_redis_conversions_after_setresp3(diff: Differential, script: str) -> None:
    ev(diff, "redis.setresp(3) " + script)


def test_redis_to_lua_conversions_resp2(diff: Differential) -> None:
    diff.check_all(("SET", "s", "v"), ("HSET", "h", "f", "1"), ("SADD", "set", "m"),
                   ("ZADD", "z", "1.5", "a"), ("RPUSH", "l", "a", "b"))
    for script in [
        "return redis.call('get', 's')", "return redis.call('get', 'nokey')",
        "return type(redis.call('get', 'nokey'))", "return redis.call('set', 'x', 'y')",
        "return type(redis.call('set', 'x', 'y'))", "return redis.call('set', 'x', 'y').ok",
        "return redis.call('incr', 'n')", "return type(redis.call('incr', 'n'))",
        "return redis.call('hgetall', 'h')", "return redis.call('smembers', 'set')",
        "return redis.call('zscore', 'z', 'a')", "return type(redis.call('zscore', 'z', 'a'))",
        "return redis.call('lrange', 'l', 0, -1)", "return redis.call('exists', 's', 'nokey')",
        "return redis.pcall('incr', 's')", "return type(redis.pcall('incr', 's'))",
        "return redis.pcall('incr', 's').err", "return redis.call('zrange', 'z', 0, -1, 'withscores')",
        "return redis.call('lpop', 'nolist')", "return redis.call('ping')", "return redis.call('echo', 'x')",
        "return redis.call('hget', 'h', 'f') + 1",
    ]:
        ev(diff, script)


def test_redis_to_lua_conversions_resp3(diff: Differential) -> None:
    diff.check_all(("SET", "s", "v"), ("HSET", "h", "f", "1"), ("SADD", "set", "m"),
                   ("ZADD", "z", "1.5", "a"))
    for script in [
        "redis.setresp(3) return redis.call('hgetall', 'h')",
        "redis.setresp(3) return redis.call('hgetall', 'h').map.f",
        "redis.setresp(3) return redis.call('smembers', 'set')",
        "redis.setresp(3) return type(redis.call('smembers', 'set').set.m)",
        "redis.setresp(3) return redis.call('zscore', 'z', 'a')",
        "redis.setresp(3) return redis.call('zscore', 'z', 'a').double",
        "redis.setresp(3) return type(redis.call('get', 'nokey'))",
        "redis.setresp(3) return redis.call('get', 'nokey') == nil",
        "redis.setresp(3) return redis.call('set', 'x', 'y')",
        "redis.setresp(3) return redis.call('zrange', 'z', 0, -1, 'withscores')",
        "redis.setresp(3) local r = redis.call('zrange', 'z', 0, -1, 'withscores') return r[1][2].double",
        "redis.setresp(3) redis.setresp(2) return redis.call('hgetall', 'h')",
    ]:
        ev(diff, script)


def test_arguments_to_redis_call(diff: Differential) -> None:
    for script in [
        "redis.call('set', 'k', 3.5) return redis.call('get', 'k')",
        "redis.call('set', 'k', 1e20) return redis.call('get', 'k')",
        "redis.call('set', 'k', 1/3) return redis.call('get', 'k')",
        "redis.call('set', 'k', 12345678901234) return redis.call('get', 'k')",
        "return redis.call('set', 'k', {})", "return redis.call('set', 'k', nil)",
        "return redis.call('set', 'k', true)", "return redis.call()", "return redis.pcall()",
        "return redis.pcall('set', 'k', {})",
    ]:
        ev(diff, script)


@pytest.mark.parametrize("script", [
    "return x", "x = 1", "local t = nil; return t.x", "return 1 + {}", "error('boom')",
    "error({err='TABLE err'})", "error('no position', 0)", "error(42)",
    "redis.call('nosuchcommand')", "redis.call('get')", "redis.call('get', 'a', 'b')",
    "redis.call('multi')", "redis.call('eval', 'return 1', 0)", "redis.call('script', 'load', 'return 1')",
    "string.foo = 1", "redis.call = nil", "redis = nil", "_G.x = 1", "KEYS = {}",
    "local a = 1\nlocal b = 2\nreturn c", "\n\nerror('on line three')",
    "local function f()\n  error('deep')\nend\nf()", "local t = {}\n\nreturn t.a.b",
    "return redis.call('incr', 'notanumber')", "redis.sha1hex()", "redis.sha1hex(1, 2)",
    "redis.log()", "redis.log(redis.LOG_WARNING)", "redis.log('x', 'y')", "redis.log(7, 'y')",
    "redis.setresp()", "redis.setresp(1)", "redis.setresp('x')", "return os.time()",
    "return io", "return dofile", "return loadfile", "return require", "return debug",
    "return getfenv(0).os", "return setfenv", "return newproxy", "return print", "return loadstring('return x')()", "syntax error here",
    "return 'unfinished", "for i = 1 do end",
    "local ok, err = pcall(redis.call, 'incr', 'notanumber') return err",
    "local ok, err = pcall(error, {err='x'}) return {tostring(ok), err}",
    "local ok, err = pcall(error, 'plain') return err",
    "return redis.breakpoint()", "return redis.debug('x')",
    "rawset(_G, 'leak', 1) return 1", "rawset(redis, 'x', 1)", "rawset(string, 'x', 1)",
    "local t = rawset({}, 'a', 1) return t.a", "getmetatable('').__index.upper = nil",
    "return ('abc'):upper()", "setmetatable(_G, {})", "return getmetatable(_G)",
])
def test_script_errors(diff: Differential, script: str) -> None:
    diff.check("SET", "notanumber", "abc")
    ev(diff, script)


def test_keys_and_argv(diff: Differential) -> None:
    ev(diff, "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}", "k1", "k2", "a1", "a2", numkeys=2)
    ev(diff, "return {#KEYS, #ARGV}", "a", "b", numkeys=0)
    ev(diff, "return {#KEYS, #ARGV}", "a", "b", numkeys=2)
    ev(diff, "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])", "k", "v", numkeys=1)


def test_numkeys_errors(diff: Differential) -> None:
    diff.check_all(("EVAL", "return 1", "-1"), ("EVAL", "return 1", "2", "a"),
                   ("EVAL", "return 1", "x"), ("EVAL", "return 1"), ("EVAL",),
                   ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "-1"),
                   ("EVALSHA", "abc", "x"), ("EVAL", "return 1", "99999999999999999999"))


def test_evalsha_and_script_cache(diff: Differential) -> None:
    diff.check_all(
        ("SCRIPT", "FLUSH"),
        ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"),
        ("EVALSHA", "short", "0"),
        ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "nope"),
        ("SCRIPT", "LOAD", "return 1"),
        ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "x"),
        ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"),
        ("EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"),
        ("EVALSHA_RO", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"),
        ("SCRIPT", "LOAD", "return syntax error"),
        ("SCRIPT", "LOAD", "#!lua flags=nope\nreturn 1"),
        ("SCRIPT", "LOAD"), ("SCRIPT", "LOAD", "a", "b"), ("SCRIPT", "EXISTS"),
        ("SCRIPT", "FLUSH", "SYNC"), ("SCRIPT", "FLUSH", "ASYNC"), ("SCRIPT", "FLUSH", "bad"),
        ("SCRIPT", "FLUSH", "SYNC", "extra"),
        ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
        ("EVAL", "return 1", "0"),
        ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
        ("SCRIPT", "KILL"), ("SCRIPT", "KILL", "x"), ("SCRIPT", "NOSUCH"), ("SCRIPT",),
        ("SCRIPT", "HELP"),
    )


@pytest.mark.parametrize("script", [
    "#!lua\nreturn redis.call('set', 'k', 'v')",
    "#!lua flags=no-writes\nreturn redis.call('set', 'k', 'v')",
    "#!lua flags=no-writes\nreturn redis.call('get', 'k')",
    "#!lua flags=no-writes,allow-oom\nreturn 1", "#!lua flags=allow-stale,no-cluster\nreturn 1",
    "#!lua flags=bad\nreturn 1", "#!lua name=x\nreturn 1", "#!luajit\nreturn 1", "#!lua",
    "#!lua flags=\nreturn 1", "#!lua\nreturn x", "#!lua\n\nerror('line 3')",
])
def test_shebang_flags(diff: Differential, script: str) -> None:
    diff.check("EVAL", script, "0")
    diff.check("EVAL_RO", script, "0")
    diff.check("GET", "k")


def test_eval_ro_refuses_writes(diff: Differential) -> None:
    diff.check_all(("EVAL_RO", "return redis.call('set', 'k', 'v')", "1", "k"),
                   ("EVAL_RO", "return redis.call('get', 'k')", "1", "k"),
                   ("EVAL_RO", "return redis.pcall('del', 'k')", "1", "k"),
                   ("GET", "k"))


def test_script_writes_and_errors_keep_earlier_writes(diff: Differential) -> None:
    diff.check_all(("EVAL", "redis.call('set', 'a', '1') redis.call('incr', 'a') error('stop')", "0"),
                   ("GET", "a"),
                   ("EVAL", "redis.call('select', 1) redis.call('set', 'in1', 'x') return redis.call('get', 'in1')", "0"),
                   ("GET", "in1"), ("SELECT", "1"), ("GET", "in1"), ("SELECT", "0"))


def test_eval_inside_multi_and_watch(diff: Differential, other: Other) -> None:  # noqa: F811
    diff.check_all(("MULTI",), ("EVAL", "return redis.call('incr', 'c')", "0"),
                   ("EVAL", "return x", "0"), ("EXEC",), ("GET", "c"))
    diff.check_all(("WATCH", "w"),)
    other.both("EVAL", "return redis.call('set', 'w', '1')", "0")
    diff.check_all(("MULTI",), ("GET", "w"), ("EXEC",))


def test_blocking_commands_do_not_block_in_scripts(diff: Differential) -> None:
    diff.check_all(("EVAL", "return redis.call('blpop', 'nolist', 0)", "0"),
                   ("EVAL", "return redis.call('brpoplpush', 'nolist', 'dst', 0)", "0"),
                   ("RPUSH", "l", "x"),
                   ("EVAL", "return redis.call('blpop', 'l', 0)", "0"))


@pytest.mark.parametrize("script", [
    "return bit.band(0xff, 0x0f, 0x3c)", "return bit.bor(1, 2, 4)", "return bit.bxor(5, 3)",
    "return bit.bnot(0)", "return bit.lshift(1, 31)", "return bit.rshift(-1, 28)",
    "return bit.arshift(-256, 4)", "return bit.rol(0x12345678, 8)", "return bit.ror(0x12345678, 8)",
    "return bit.tohex(255)", "return bit.tohex(-1, -4)", "return bit.tohex(0x1234, 2)",
    "return bit.tobit(0xffffffff + 1)", "return bit.bswap(0x12345678)", "return bit.tobit(2^31)",
])
def test_bit_library(diff: Differential, script: str) -> None:
    ev(diff, script)


@pytest.mark.parametrize("script", [
    "return cjson.encode({1, 2, 'a/b', {x=1.5}})", "return cjson.encode({})",
    "return cjson.encode('\"quote\" back\\\\slash \\n\\t\\1')", "return cjson.encode({[1]=1, [20]=2})",
    "return cjson.encode({[1]=1, [3]=3})", "return cjson.encode(function() end)",
    "return cjson.encode(0.1)", "return cjson.encode(1e20)", "return cjson.encode(-7)",
    "return cjson.encode({a={b={}}})", "return cjson.encode(true)", "return cjson.encode(cjson.null)",
    "return cjson.encode({[{}]=1})", "return cjson.encode({k='v'})",
    "return cjson.decode('[1,2,{\"a\":null}]')[3].a == cjson.null",
    "return cjson.decode('[1.5, \"x\", true, false]')", "return cjson.decode('{\"a\":{\"b\":[1,2]}}').a.b",
    "return cjson.decode('\"s\\\\u0041\"')", "return type(cjson.null)", "return cjson.decode(12)",
    "local t = cjson.decode(cjson.encode({n=1, s='x'})) return {t.n, t.s}",
    "local t = {} local c = t for i=1,1100 do c[1] = {} c = c[1] end return cjson.encode(t)",
    "local t = {} local c = t for i=1,999 do c[1] = {} c = c[1] end return #cjson.encode(t)",
    "return cjson.decode(string.rep('[', 1100) .. string.rep(']', 1100))",
    "return #cjson.decode(string.rep('[', 999) .. string.rep(']', 999))",
    "return cjson.decode('[\"[[[\"]')[1]",
])
def test_cjson_library(diff: Differential, script: str) -> None:
    ev(diff, script)


@pytest.mark.parametrize("script", [
    "return cmsgpack.pack(1, -1, 200, -200, 70000, 2^40, -2^40, 1.5, 0.1, true, false, nil)",
    "return cmsgpack.pack('abc', string.rep('x', 40), string.rep('y', 300))",
    "return cmsgpack.pack({1, 2, 3}, {a=1}, {}, {1, nil, 3})", "return cmsgpack.pack()",
    "return cmsgpack.pack(2^64)", "return cmsgpack.pack(-0.0)", "return cmsgpack.pack(2^31, -2^31, 2^32, -2^63)",
    "return cmsgpack.pack({{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}})",
    "return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1, 2}, 1.5))}",
    "return cmsgpack.unpack(cmsgpack.pack({k='v'})).k", "return cmsgpack.unpack('')",
    "return {cmsgpack.unpack_one(cmsgpack.pack(7, 8))}", "return {cmsgpack.unpack_limit(cmsgpack.pack(7, 8, 9), 2)}",
])
def test_cmsgpack_library(diff: Differential, script: str) -> None:
    ev(diff, script)


@pytest.mark.parametrize("script", [
    "return struct.pack('>I2h', 1, -2)", "return struct.pack('<i', -1)",
    "return struct.pack('BbHhLlTd', 1, -1, 2, -2, 3, -3, 4, 1.5)", "return struct.pack('s', 'ab')",
    "return struct.pack('c3', 'abcd')", "return struct.pack('c0', 'xyz')", "return struct.pack('!4 b i', 1, 2)",
    "return struct.pack('f', 0.5)", "return struct.size('>I2h')", "return struct.size('!8bd')",
    "return {struct.unpack('>I2h', struct.pack('>I2h', 1, -2))}", "return {struct.unpack('s', 'ab\\0cd')}",
    "return {struct.unpack('Bc0', '\\3abcdef')}", "return {struct.unpack('i', 'ab')}",
    "return struct.pack('y', 1)", "return struct.pack('i17', 1)", "return struct.pack('i')",
    "return {struct.unpack('>i', struct.pack('>i', 2^31))}", "return {struct.unpack('B', 'xyz', 2)}",
    "return {struct.unpack('<d', struct.pack('<d', 0.1))}", "return struct.pack('>L', 2^40)",
    "return {struct.unpack('xb', '\\1\\2')}", "return struct.pack('c', 'ab')",
])
def test_struct_library(diff: Differential, script: str) -> None:
    ev(diff, script)


@pytest.mark.parametrize("script", [
    "math.randomseed(42) return {tostring(math.random()), math.random(100), math.random(5, 10)}",
    "math.randomseed(7) local t = {} for i = 1, 5 do t[i] = math.random(1000) end return t",
    "return math.random(0)", "return math.random(3, 1)", "return math.random(1, 2, 3)",
    "return math.random('x')", "return math.randomseed()",
])
def test_math_random_is_redis_rand48(diff: Differential, script: str) -> None:
    ev(diff, script)


@pytest.mark.parametrize("script", [
    "local f, e = loadstring(string.dump(function() return 1 end)) return {type(f), e}",
    "local n = 0 local f, e = load(function() n = n + 1 if n == 1 then return string.dump(function() end) end end) return {type(f), e}",
    "local f, e = load(function() return nil end) return {type(f), e}",
    "local f = loadstring('return 5') return f()", "return loadstring('return x')()",
    "local f = loadstring(nil)", "local f = load(1)", "return loadstring(12)", "return loadstring('syntax error')",
    "local n = 0 return load(function() n = n + 1 if n == 1 then return 'return 7' end end)()",
    "return loadstring('return 1', '=mychunk')", "return select(2, loadstring('x x', '=mychunk'))",
])
def test_loadstring_and_load_refuse_bytecode(diff: Differential, script: str) -> None:
    ev(diff, script)
