-- scripts/load.sh, run b: GET /api/v1/livechat/visitor/<token>, a random existing token per
-- request. Argument: a file of tokens, one a line.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local tokens

function init(args)
   tokens = read_lines(args[1])
   seed_random()
end

function request()
   return wrk.format("GET", "/api/v1/livechat/visitor/" .. tokens[math.random(#tokens)])
end
