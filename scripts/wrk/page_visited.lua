-- scripts/load.sh, runs pv-room / pv-roomless: POST /api/v1/livechat/page.visited, a page view
-- of an existing visitor per request. Argument: a file of lines "token" (room-less entries) or
-- "token<TAB>rid" (entries into the visitor's room, which `page.visited` checks and counts).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local rows
local pages = {
   { "Pricing | Acme Store", "/pricing" },
   { "Running Shoes | Acme Store", "/products/running-shoes-4711?color=blue" },
   { "Track my order - Help Center", "/help/articles/381204-track-my-order" },
   { "Checkout - Payment | Acme Store", "/checkout/payment" },
   { "Search results for \\\"desk\\\" | Acme Store", "/search?q=desk&sort=relevance" },
}

function init(args)
   rows = {}
   for _, line in ipairs(read_lines(args[1])) do
      local token, rid = line:match("^([^\t]+)\t?(.*)$")
      rows[#rows + 1] = { token, rid ~= "" and rid or nil }
   end
   wrk.headers["Content-Type"] = "application/json"
   seed_random()
end

function request()
   local row = rows[math.random(#rows)]
   local page = pages[math.random(#pages)]
   local rid = row[2] and (',"rid":"' .. row[2] .. '"') or ""
   local body = '{"token":"' .. row[1] .. '"' .. rid .. ',"pageInfo":{"change":"url","title":"'
      .. page[1] .. '","location":{"href":"https://shop.acme.example' .. page[2] .. '"}}}'
   return wrk.format("POST", "/api/v1/livechat/page.visited", nil, body)
end
