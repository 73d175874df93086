-- wrk script for the soak test: nine recommendation requests to one feedback post (an impression
-- and a click on known items; FEEDBACK_EVERY changes the mix), each connection paced by DELAY_MS between requests, so the offered rate is
-- about connections * 1000 / (DELAY_MS + latency). Prints the same summary line as
-- wrk-recommend.lua plus wrk's count of 4xx/5xx answers.
local users = tonumber(os.getenv("USERS") or "300")
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
local items = {}
for id in string.gmatch(os.getenv("ITEMS") or "i1", "[^,]+") do items[#items + 1] = id end
local counter = 0
-- One request in FEEDBACK_EVERY is a feedback post (1: feedback only, for the write rate).
local every = tonumber(os.getenv("FEEDBACK_EVERY") or "10")

function request()
  counter = counter + 1
  if counter % every == 0 then
    local u = "soak-u" .. math.random(0, 999)
    local body = string.format('{"events":[{"user":"%s","item":"%s","type":"impression"},{"user":"%s","item":"%s","type":"click"}]}',
      u, items[math.random(1, #items)], u, items[math.random(1, #items)])
    return wrk.format("POST", "/api/feedback", {["Authorization"] = "Bearer admin", ["Content-Type"] = "application/json"}, body)
  end
  local path = "/api/recommend/u" .. math.random(0, users - 1) .. "?n=20"
  return wrk.format("GET", path, {["Authorization"] = "Bearer read"})
end

function delay()
  return delay_ms
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("requests=%d seconds=%.1f rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f socket_errors=%d status_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, errors, summary.errors.status))
end
