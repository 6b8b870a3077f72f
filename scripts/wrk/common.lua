-- Shared by the wrk scripts of scripts/load.sh (loaded with dofile by each of them).
--
-- Every thread gets an id (1, 2, …) from setup(), counts the responses whose status is not
-- 200 in response(), and done() prints one machine-readable line that scripts/load.sh parses:
--   LOAD requests=N duration_us=N rps=X p50_ms=X p99_ms=X non200=N socket_errors=N
-- plus, when there were any, `LOAD first_non200=<status> <start of body>`.

local threads = {}

-- WRK_ADDRS="127.0.0.1:8001,127.0.0.1:8002" spreads the threads over several servers (thread k
-- connects to address k modulo their number; scripts/load-replicas.sh uses it for replicas):
-- wrk's own URL then only gives the scheme and the Host header.
local addrs = nil
local spread = os.getenv("WRK_ADDRS")
if spread and spread ~= "" then
   addrs = {}
   for hostport in string.gmatch(spread, "[^,]+") do
      local host, port = hostport:match("^(.*):(%d+)$")
      if not host then
         error("WRK_ADDRS: not host:port: " .. hostport)
      end
      addrs[#addrs + 1] = wrk.lookup(host, port)[1]
   end
end

function setup(thread)
   thread:set("id", #threads + 1)
   if addrs then
      thread.addr = addrs[(#threads % #addrs) + 1]
   end
   table.insert(threads, thread)
end

-- Thread state (each wrk thread has its own Lua state).
bad = 0
first_bad = nil

function response(status, headers, body)
   if status ~= 200 then
      bad = bad + 1
      if first_bad == nil then
         first_bad = status .. " " .. string.sub(string.gsub(body or "", "%s+", " "), 1, 200)
      end
   end
end

-- The non-empty lines of a file, as an array; stops wrk with a message when there are none.
function read_lines(path)
   local f = path and io.open(path, "r")
   if not f then
      error("cannot open " .. tostring(path))
   end
   local lines = {}
   for line in f:lines() do
      if line ~= "" then
         lines[#lines + 1] = line
      end
   end
   f:close()
   if #lines == 0 then
      error(path .. " is empty")
   end
   return lines
end

-- A different random sequence per thread.
function seed_random()
   math.randomseed(os.time() * 1000 + (id or 0))
end

function done(summary, latency, requests)
   local non200, first = 0, nil
   for _, t in ipairs(threads) do
      non200 = non200 + (t:get("bad") or 0)
      first = first or t:get("first_bad")
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "LOAD requests=%d duration_us=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f non200=%d socket_errors=%d\n",
      summary.requests, summary.duration, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      non200, e.connect + e.read + e.write + e.timeout))
   if first then
      io.write("LOAD first_non200=" .. first .. "\n")
   end
end
