-- scripts/load.sh, run a: GET /ceiling on examples/ceiling.rs. The request is built per call,
-- as in get.lua, so the client does the same work for the ceiling as for visitord.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function request()
   return wrk.format("GET", "/ceiling")
end
