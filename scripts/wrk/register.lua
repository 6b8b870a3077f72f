-- scripts/load.sh, run e: POST /api/v1/livechat/visitor of a new visitor per request. Argument:
-- a prefix unique to the run; with the thread id and a counter it makes every token unique.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local prefix
local n = 0

function init(args)
   prefix = args[1] or "load"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   n = n + 1
   local u = prefix .. "-" .. id .. "-" .. n
   local body = '{"visitor":{"token":"' .. u .. '","name":"Load Test ' .. u
      .. '","email":"load' .. u .. '@example.com"}}'
   return wrk.format("POST", "/api/v1/livechat/visitor", nil, body)
end
