-- Shared by the bench's wrk scripts (loaded with dofile from each of them).
--
-- Each wrk thread runs its own Lua state: it counts the status codes it sees and, where a
-- script records them, the ids the service acknowledged. done() runs once in the main
-- state, gathers every thread's counters and writes one JSON object to $BENCH_WRK_OUT:
-- wrk's own summary (requests, socket errors), latency percentiles in microseconds, the
-- status counts, and the recorded ids. bench/run.py reads that file.

local threads = {}

function setup(thread)
  thread:set("tid", #threads) -- 0-based thread index, set before that thread's init()
  table.insert(threads, thread)
end

-- Per thread (globals of the thread's own Lua state, read back by done()).
function bench_init()
  statuses = {} -- status code (as a string) -> count
  non2xx = 0
  ids = {} -- acknowledged ids, when the script records them
  unparsed = 0 -- acknowledged responses whose id could not be read
  nthreads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
end

function bench_count(status)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function bench_lines(path)
  local lines = {}
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    if line ~= "" then
      lines[#lines + 1] = line
    end
  end
  file:close()
  return lines
end

function bench_headers(extra)
  local headers = { ["X-Forwarded-Proto"] = "https" } -- as the TLS-terminating proxy sends
  for name, value in pairs(extra or {}) do
    headers[name] = value
  end
  return headers
end

function done(summary, latency, requests)
  local total_non2xx, total_unparsed, all_ids, all_statuses = 0, 0, {}, {}
  for _, thread in ipairs(threads) do
    total_non2xx = total_non2xx + (thread:get("non2xx") or 0)
    total_unparsed = total_unparsed + (thread:get("unparsed") or 0)
    for _, id in ipairs(thread:get("ids") or {}) do
      all_ids[#all_ids + 1] = string.format("%d", id)
    end
    for status, count in pairs(thread:get("statuses") or {}) do
      all_statuses[status] = (all_statuses[status] or 0) + count
    end
  end
  local status_parts = {}
  for status, count in pairs(all_statuses) do
    status_parts[#status_parts + 1] = string.format('"%s": %d', status, count)
  end
  local e = summary.errors
  local out = assert(io.open(assert(os.getenv("BENCH_WRK_OUT"), "BENCH_WRK_OUT not set"), "w"))
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
      .. '"wrk_status_errors": %d, "non2xx": %d, "unparsed": %d, '
      .. '"latency_us": {"min": %d, "mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d}, '
      .. '"statuses": {%s}, "ids": [%s]}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout,
    e.status, total_non2xx, total_unparsed,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max,
    table.concat(status_parts, ", "), table.concat(all_ids, ", ")
  ))
  out:close()
end
