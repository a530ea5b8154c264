-- create.lua — wrk script that POSTs objects with unique names; each wrk thread stops
-- once PER_THREAD requests have been answered (bounded count; wrk's -d bounds the time).
-- Arguments after "--": BODY_FILE PER_THREAD PREFIX. BODY_FILE holds one JSON object
-- whose metadata.name is the placeholder __NAME__; each request gets PREFIX-<thread>-<n>.
-- Prints one "WRK ..." line: created counts 201 answers (timon answers 201 only once the
-- write is durable), other counts any other status; elapsed_us runs from the first request
-- to the last answer (wrk's own duration is its -d, since its main thread sleeps that long).
-- When the last thread is done it sends SIGINT to wrk's main thread, which ends that sleep:
-- run it with -t1 (threads do not share a counter).
local ffi = require("ffi")
ffi.cdef[[
struct bench_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk, struct bench_timespec *ts);
int getpid(void);
int tgkill(int tgid, int tid, int sig);
]]
local ts = ffi.new("struct bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

-- globals: read back by done() through thread:get
tid, created, other, first_us, last_us = 0, 0, 0, 0, 0
local head, tail, limit, prefix
local sent, answered = 0, 0

function init(args)
  local f = assert(io.open(args[1], "r"))
  local body = f:read("*a")
  f:close()
  local s, e = string.find(body, "__NAME__", 1, true)
  assert(s, "body has no __NAME__ placeholder")
  head = string.sub(body, 1, s - 1)
  tail = string.sub(body, e + 1)
  limit = tonumber(args[2])
  prefix = args[3] .. "-" .. tid .. "-"
  first_us = now_us() -- the thread starts: like wrk's own clock, includes connecting
end

local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"

function request()
  sent = sent + 1
  return wrk.format("POST", nil, nil, head .. prefix .. sent .. tail)
end

function response(status, headers, body)
  answered = answered + 1
  if status == 201 then created = created + 1 else other = other + 1 end
  if answered >= limit then
    last_us = now_us()
    wrk.thread:stop()
    local pid = ffi.C.getpid()
    ffi.C.tgkill(pid, pid, 2) -- SIGINT to the main thread: stop sleeping, report now
  end
end

function done(summary, latency, requests)
  local c, o, first, last = 0, 0, nil, 0
  for _, t in ipairs(threads) do
    c = c + (t:get("created") or 0)
    o = o + (t:get("other") or 0)
    local f, l = t:get("first_us") or 0, t:get("last_us") or 0
    if f > 0 and (first == nil or f < first) then first = f end
    if l > last then last = l end
  end
  -- a thread cut short by -d has no last_us: fall back to wrk's duration
  local elapsed = summary.duration
  if first and last > first then elapsed = last - first end
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d elapsed_us=%d bytes=%d p50_us=%d p99_us=%d max_us=%d created=%d other=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, elapsed, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency.max, c, o,
    e.connect, e.read, e.write, e.status, e.timeout))
end
