-- get.lua — wrk script for GET benchmarks (timon and the nginx reference alike).
-- Adds the bearer token when BENCH_TOKEN is set and prints one machine-readable
-- "WRK ..." line at the end (rate, p50/p99 in microseconds, error counts).
-- No response() function: wrk then skips parsing bodies, as fast as it gets.
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.headers["Accept"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d max_us=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
