-- wrk script for POST /v1/events (scripts/bench-ingest.sh): every request
-- carries new events (unique ids), so the log appends them rather than
-- answering duplicates. BATCH events per request (environment variable,
-- default 1; 1 sends structured mode, more sends batch mode).
local batch = tonumber(os.getenv("BATCH") or "1")
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

local template = '{"specversion":"1.0","id":"%s","source":"bench/wrk",' ..
  '"type":"call.logged","time":"2026-11-23T09:%02d:%02dZ",' ..
  '"data":{"org":"org-%05d","manager":"m-%02d","department":"lead_generation",' ..
  '"direction":"outbound","outcome":"answered","duration_s":%d}}'

local run = tostring(os.time())

local function event()
  counter = counter + 1
  local id = string.format("w%s-%d-%d", run, thread_id, counter)
  return string.format(template, id, counter % 60, counter % 60,
                       counter % 5000, counter % 20, counter % 600)
end

function request()
  local body
  local content_type
  if batch <= 1 then
    body = event()
    content_type = "application/cloudevents+json"
  else
    local parts = {}
    for i = 1, batch do parts[i] = event() end
    body = "[" .. table.concat(parts, ",") .. "]"
    content_type = "application/cloudevents-batch+json"
  end
  return wrk.format("POST", "/v1/events",
                    {["Content-Type"] = content_type}, body)
end

local non_202 = 0
function response(status, headers, body)
  if status ~= 202 then
    non_202 = non_202 + 1
    if non_202 <= 3 then io.stderr:write("non-202: ", status, " ", body, "\n") end
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%d duration_s=%.3f errors=%d non2xx=%d p50_ms=%.3f p99_ms=%.3f\n",
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
