-- wrk script: the authenticated GET of get.lua, paced to a fixed request rate (Debian has no
-- wrk2). CASTERA_RATE_PER_THREAD is the rate each wrk thread holds. Every request claims the
-- next slot of the thread's schedule, and its connection waits until then (delay()); the
-- schedule is absolute, so neither the answers' latency nor wrk's whole-millisecond timers
-- change the rate. A thread that falls behind starts again from now instead of bursting.
local cookie = os.getenv("CASTERA_COOKIE")
local auth = os.getenv("CASTERA_AUTH")
if cookie then wrk.headers["Cookie"] = cookie end
if auth then wrk.headers["Authorization"] = auth end

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } castera_timespec;
  int clock_gettime(int clock_id, castera_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local now_buffer = ffi.new("castera_timespec")

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_buffer)
  return tonumber(now_buffer.tv_sec) + tonumber(now_buffer.tv_nsec) * 1e-9
end

local interval = 1 / tonumber(os.getenv("CASTERA_RATE_PER_THREAD") or "1000")
local next_slot = nil

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
end

function delay()
  local t = now()
  if next_slot == nil or next_slot < t - interval then next_slot = t end
  next_slot = next_slot + interval
  -- wrk's timers count whole milliseconds: round up with the probability of the fraction, so
  -- that waits are right on average and no slot drifts.
  local wait = (next_slot - t) * 1000
  local whole = math.floor(wait)
  if math.random() < wait - whole then whole = whole + 1 end
  return whole
end
