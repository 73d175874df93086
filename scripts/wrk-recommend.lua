-- wrk script: GET /api/recommend/{user} for random users u0..u(USERS-1) with the read key.
-- USERS, KEY and N come from the environment (defaults 100000, "read", 20).
local users = tonumber(os.getenv("USERS") or "100000")
local key = os.getenv("KEY") or "read"
local n = os.getenv("N") or "20"
math.randomseed(os.time())

request = function()
  local u = math.random(0, users - 1)
  return wrk.format("GET", "/api/recommend/u" .. u .. "?n=" .. n, { ["Authorization"] = "Bearer " .. key })
end

done = function(summary, latency, requests)
  io.write(string.format("requests=%d errors_status=%d errors_connect=%d rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.errors.connect,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
