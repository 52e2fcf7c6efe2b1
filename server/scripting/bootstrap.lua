-- The sandbox scripts run in, built once per Lua state with the full standard library (which
-- this chunk then removes). Arguments: a table of Python callbacks (server/scripting/engine.py).
-- Functions defined here carry the chunk name "=activekv": the error handler skips their
-- frames, so an error raised by redis.call points at the script's own line, as in Redis.
local py = ...
local dbg = debug
local error, type, tostring, select, rawget, rawset, setmetatable, getmetatable, unpack =
    error, type, tostring, select, rawget, rawset, setmetatable, getmetatable, unpack
local builtin_pcall, builtin_xpcall, setfenv = pcall, xpcall, setfenv
local loadstring, tonumber, pairs, ipairs, assert = loadstring, tonumber, pairs, ipairs, assert
local concat = table.concat
local py_hook = py.hook
local next = next

local G = _G
local function readonly_error()
    error("Attempt to modify a readonly table", 2)
end

-- Lua 5.1 has no readonly tables (Redis patches its Lua for them): a library table a script
-- sees is an empty proxy whose reads go to the real table and whose writes fail.
local protected = setmetatable({}, {__mode = "k"})  -- every readonly table scripts can see
local function readonly(t)
    local proxy = setmetatable({}, {__index = t, __newindex = readonly_error, __metatable = false})
    protected[proxy] = true
    return proxy
end

-- redis.* ------------------------------------------------------------------------------------
-- What can raise an error is a Python callable (C to Lua), never a Lua function: a script's
-- `return redis.call(...)` is a tail call, which would erase the script's frame (and with
-- it the line number of the error) if redis.call were a Lua function. Python raises
-- ScriptError; `unwrap` turns the exception Lua sees back into Redis's error value.
local redis = {}
local unwrap = py.unwrap
redis.call = py.call
redis.pcall = py.pcall
redis.sha1hex = py.sha1hex
redis.log = py.log
redis.setresp = py.setresp
redis.set_repl = py.set_repl
redis.acl_check_cmd = py.acl_check_cmd

local function err_table(msg)
    -- luaPushErrorBuff: "-CODE msg" keeps CODE, anything else gets "ERR"; "\r\n" trimmed
    local code, text
    if msg:sub(1, 1) == "-" then
        local sp = msg:find(" ", 1, true)
        if sp then code, text = msg:sub(2, sp - 1), msg:sub(sp + 1)
        else code, text = "ERR", msg:sub(2) end
    else
        code, text = "ERR", msg
    end
    text = text:gsub("^[\r\n]+", ""):gsub("[\r\n]+$", "")
    return {err = code .. " " .. text}
end

function redis.error_reply(...)
    local msg = ...
    if select("#", ...) ~= 1 or type(msg) ~= "string" then
        return err_table("wrong number or type of arguments")
    end
    if msg:sub(1, 1) ~= "-" then msg = "-" .. msg end
    return err_table(msg)
end
function redis.status_reply(...)
    local msg = ...
    if select("#", ...) ~= 1 or type(msg) ~= "string" then
        return err_table("wrong number or type of arguments")
    end
    return {ok = msg}
end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
function redis.replicate_commands() return true end
function redis.breakpoint() return false end
function redis.debug() end
redis.REDIS_VERSION = py.version
redis.REDIS_VERSION_NUM = py.version_num

local function as_error(e)
    if type(e) == "userdata" then
        local v = unwrap(e)
        if v ~= nil then return v end
    end
    return e
end

-- pcall as Redis 7 has it: an error table raised by redis.call is caught as its message.
local function pcall_result(ok, ...)
    if ok then return true, ... end
    local e = as_error((...))
    if type(e) == "table" then
        local msg = e.err
        if type(msg) == "string" or type(msg) == "number" then return false, msg end
    end
    return false, e
end
function G.pcall(f, ...) return pcall_result(builtin_pcall(f, ...)) end

-- The error handler (Redis's __redis__err__handler): the error becomes a table with the
-- script's source and line (the first frame that is neither C nor ours).
local function err_handler(err)
    local level, info = 2, nil
    repeat
        info = dbg.getinfo(level, "nSl")
        level = level + 1
    until info == nil or (info.what ~= "C" and info.source ~= "=activekv")
    err = as_error(err)
    if type(err) ~= "table" then err = {err = "ERR " .. tostring(err)} end
    if info then
        err.source = info.source
        err.line = info.currentline
    end
    return err
end

-- The busy-script hook: every 100000 instructions, Python serves other clients once the
-- script is past busy-reply-threshold and says whether SCRIPT KILL asked us to stop. Once
-- killed the hook runs on every line, so a pcall in a loop cannot swallow the kill.
local hook
hook = function()
    -- Never inside our own frames (the error handler, run's epilogue): only script code stops.
    local where = dbg.getinfo(2, "S")
    if where and where.source == "=activekv" then return end
    local stop = py_hook()  -- false, or the error to stop with
    if stop then
        dbg.sethook(hook, "l")
        error({err = stop})
    end
end

-- The environment of every script: reads of a missing global and every write fail.
local function missing_global(_, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end

local env_globals = {}   -- what scripts can see: filled below, then frozen behind a proxy
local script_env = setmetatable({}, {__index = env_globals, __newindex = readonly_error,
                                     __metatable = false})
protected[env_globals] = true
protected[script_env] = true
-- rawset and setmetatable refuse the readonly tables, as Redis's readonly tables do;
-- getmetatable shows them a (readonly, empty) metatable.
local function sandbox_rawset(t, k, v)
    if protected[t] then error("Attempt to modify a readonly table", 0) end
    return rawset(t, k, v)
end
local function sandbox_setmetatable(t, mt)
    if protected[t] then error("Attempt to modify a readonly table", 0) end
    return setmetatable(t, mt)
end
local protected_mt_view = setmetatable({}, {__newindex = readonly_error, __metatable = false})
protected[protected_mt_view] = true
local function sandbox_getmetatable(t)
    if protected[t] then return protected_mt_view end
    return getmetatable(t)
end

-- run(fn, keys, args, eval_mode, hook_count): call a script with the error handler.
local function forget_raw_writes(t)
    -- rawset() on the sandbox's proxies is the one write their metatables cannot stop (Redis's
    -- readonly tables refuse it): what a script left there is dropped before the next runs.
    local k = next(t)
    while k ~= nil do
        rawset(t, k, nil)
        k = next(t)
    end
end

local function run(fn, keys, args, eval_mode, hook_count)
    forget_raw_writes(script_env)
    if eval_mode then
        rawset(env_globals, "KEYS", keys)
        rawset(env_globals, "ARGV", args)
    end
    if hook_count > 0 then dbg.sethook(hook, "", hook_count) end
    local ok, result
    if eval_mode then
        ok, result = builtin_xpcall(fn, err_handler)
    else
        ok, result = builtin_xpcall(function() return fn(keys, args) end, err_handler)
    end
    dbg.sethook()
    return ok, result
end

-- compile(body, chunkname): a function running in the sandbox, or nil and the message.
local function compile(body, chunkname)
    local fn, err = loadstring(body, chunkname)
    if not fn then return nil, err end
    setfenv(fn, script_env)
    return fn
end

-- Redis's extra libraries (bit, struct, cjson, cmsgpack: server/scripting/libraries.py).
local libs = {}
local function add_library(name, lib)
    libs[name] = lib
end

-- Scripts never see the thread's real globals (lupa keeps using them, `debug` included):
-- loadstring/load compile into the sandbox (engine.py checks their arguments and calls
-- compile_text); getfenv/setfenv are absent, as in Redis 7.0.
-- Precompiled (binary) chunks are refused, as Redis patches Lua to do (malicious bytecode
-- can break out of the VM): Redis's parser then reads the first byte as text.
local function chunkid(source)
    local first = source:sub(1, 1)
    if first == "=" or first == "@" then return source:sub(2, 60) end
    local cstr = source:match("^[^%z]*")
    local len = #cstr:match("^[^\r\n]*")
    if len > 43 then len = 43 end
    if len < #cstr then return '[string "' .. cstr:sub(1, len) .. '..."]' end
    return '[string "' .. cstr .. '"]'
end
local function compile_text(s, name)
    if type(s) == "string" and s:sub(1, 1) == "\27" then
        return nil, chunkid(name or s) .. ":1: unexpected symbol near 'char(27)'"
    end
    local fn, err = loadstring(s, name)
    if fn then setfenv(fn, script_env) end
    return fn, err
end
local function finish()
    local allowed = {"string", "math", "table", "coroutine", "xpcall", "tostring", "next", "assert", "tonumber", "rawequal", "collectgarbage",
        "pcall", "type", "select", "unpack", "gcinfo", "pairs",
        "rawget", "ipairs", "_VERSION", "error"}
    for _, name in ipairs(allowed) do
        local v = G[name]
        if type(v) == "table" then v = readonly(v) end
        rawset(env_globals, name, v)
    end
    -- Lua wrappers (type() says 'function', as in Redis) around the Python checks.
    local py_loadstring, py_load = py.loadstring, py.load
    rawset(env_globals, "loadstring", function(...) return py_loadstring(...) end)
    rawset(env_globals, "load", function(...) return py_load(...) end)
    rawset(env_globals, "rawset", sandbox_rawset)
    rawset(env_globals, "setmetatable", sandbox_setmetatable)
    rawset(env_globals, "getmetatable", sandbox_getmetatable)
    for name, lib in pairs(libs) do rawset(env_globals, name, readonly(lib)) end
    rawset(env_globals, "redis", readonly(redis))
    rawset(env_globals, "_G", script_env)
    setmetatable(env_globals, {__index = missing_global, __metatable = false})
    -- Strings' methods go through the readonly string library too, and getmetatable("")
    -- answers a readonly view of the string metatable.
    local string_mt = getmetatable("")
    string_mt.__index = rawget(env_globals, "string")
    string_mt.__metatable = readonly({__index = rawget(env_globals, "string")})
    for _, name in ipairs({"os", "io", "package", "require", "module", "dofile", "loadfile",
                           "print", "python"}) do
        G[name] = nil
    end
end

-- Functions (FUNCTION LOAD): library code runs in `function_env`, whose reads go to the load
-- API (only redis.register_function, redis.log, the levels and versions) while loading and to
-- the script globals afterwards, as Redis swaps its globals' __index.
local load_redis = setmetatable({
    register_function = py.register_function, log = py.log,
    LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
    REDIS_VERSION = py.version, REDIS_VERSION_NUM = py.version_num,
}, {__index = missing_global, __newindex = readonly_error, __metatable = false})
local load_api = setmetatable({redis = load_redis},
                              {__index = missing_global, __newindex = readonly_error, __metatable = false})
local function_mt = {__index = env_globals, __newindex = readonly_error, __metatable = false}
local function_env = setmetatable({}, function_mt)
protected[load_redis] = true
protected[load_api] = true
protected[function_env] = true

-- load_library(body): compile and run library code with the load API; ok, or false and the
-- error (a compile error is a string, a runtime error the handler's table).
local function load_library(body, hook_count)
    local fn, err = loadstring(body, "@user_function")
    if not fn then return false, err, true end
    setfenv(fn, function_env)
    function_mt.__index = load_api
    if hook_count > 0 then dbg.sethook(hook, "", hook_count) end
    local ok, result = builtin_xpcall(fn, err_handler)
    dbg.sethook()
    function_mt.__index = env_globals
    return ok, result, false
end

-- where(): "user_script:N: " for errors raised by Python library code, as luaL_error
-- prefixes them (level 3: above this helper and the Python callable, the caller).
local function where()
    local level, info = 3, nil
    repeat
        info = dbg.getinfo(level, "Sl")
        level = level + 1
    until info == nil or info.source ~= "=activekv"
    if info and info.currentline > 0 then return info.short_src .. ":" .. info.currentline .. ": " end
    return ""
end

return {run = run, compile = compile, add_library = add_library, finish = finish, where = where,
        load_library = load_library, compile_text = compile_text,
        null = newproxy(),
        redis = redis, script_env = script_env}
