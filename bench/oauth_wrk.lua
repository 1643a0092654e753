-- wrk script for bench/oauth: POST each line of a file (pre-built bodies: unique JWT
-- assertions, or the same form repeated) once, in order; prints a parseable summary.
local requests = {}
local i = 0

init = function(args)
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded", ["Host"] = "localhost" }
  if args[3] and args[3] ~= "" then headers["Authorization"] = args[3] end
  for line in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("POST", args[2], headers, line)
  end
end

request = function()
  i = i + 1
  if i > #requests then i = 1 end -- only the repeated bodies are meant to wrap
  return requests[i]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_WRK %d %d %d %d %d\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(99)))
end
