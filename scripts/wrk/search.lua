-- scripts/load.sh, runs c and d: GET /api/v1/livechat/visitors.search?term=<term> as an agent.
-- Arguments: auth token, user id, and a file of terms (already URL-encoded, one a line); without
-- the file, the empty term: the first page of all visitors in the default order.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local terms

function init(args)
   wrk.headers["X-Auth-Token"] = args[1]
   wrk.headers["X-User-Id"] = args[2]
   terms = args[3] and read_lines(args[3]) or { "" }
   seed_random()
end

function request()
   return wrk.format("GET", "/api/v1/livechat/visitors.search?term=" .. terms[math.random(#terms)])
end
