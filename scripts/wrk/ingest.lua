-- wrk script for POST /v1/events (scripts/bench-ingest.sh): every request
-- carries new events (unique ids), so the log appends them rather than
-- answering duplicates. BATCH events per request (environment variable,
-- default 1; 1 sends structured mode, more sends batch mode).
--
-- wrk runs on the machine it measures, so the body is built cheaply: the
-- JSON around each id is fixed per slot and prepared once; a request only
-- makes BATCH new ids and concatenates.
local batch = tonumber(os.getenv("BATCH") or "1")
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

local template_head = '{"specversion":"1.0","id":"'
local template_tail = '","source":"bench/wrk",' ..
  '"type":"call.logged","time":"2026-11-23T09:%02d:%02dZ",' ..
  '"data":{"org":"org-%05d","manager":"m-%02d","department":"lead_generation",' ..
  '"direction":"outbound","outcome":"answered","duration_s":%d}}'

local pieces = nil  -- pieces[2i-1]: fixed JSON before id i; pieces[2i]: id i
local counter = 0
local prefix = nil

local function prepare()
  pieces = {}
  local open = batch <= 1 and "" or "["
  for i = 1, batch do
    local before = (i == 1) and (open .. template_head)
      or (string.format(template_tail, i % 60, i % 60, (i * 7) % 5000,
                        i % 20, i % 600) .. "," .. template_head)
    pieces[2 * i - 1] = before
    pieces[2 * i] = ""
  end
  pieces[2 * batch + 1] = string.format(template_tail, 0, 0, 0, 0, 0) ..
    ((batch <= 1) and "" or "]")
  prefix = string.format("w%d-%d-", os.time(), thread_id or 0)
end

function request()
  if pieces == nil then prepare() end
  for i = 1, batch do
    counter = counter + 1
    pieces[2 * i] = prefix .. counter
  end
  local content_type = batch <= 1 and "application/cloudevents+json"
    or "application/cloudevents-batch+json"
  return wrk.format("POST", "/v1/events",
                    {["Content-Type"] = content_type}, table.concat(pieces))
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
