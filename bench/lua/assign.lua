-- POST /api/v1/ballots/{id}/assign into the draw of $BENCH_DRAW_DATE. $BENCH_ASSIGN_FILE
-- holds "ballot_id token_index" lines of unassigned ballots bought beforehand; thread t of
-- n takes lines t, t+n, t+2n, … so every request assigns a different ballot, with its
-- owner's bearer token. Should a thread run out of ballots it starts over, and those
-- requests fail (409 already assigned) and count as errors.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local tokens, items, body
local position = 0
exhausted = 0

function init(args)
  bench_init()
  tokens = bench_lines(os.getenv("BENCH_TOKENS_FILE"))
  items = {}
  for index, line in ipairs(bench_lines(os.getenv("BENCH_ASSIGN_FILE"))) do
    if (index - 1) % nthreads == tid then
      local id, token = string.match(line, "^(%d+)%s+(%d+)$")
      items[#items + 1] = { id, tokens[tonumber(token) + 1] }
    end
  end
  body = string.format('{"draw": "%s"}', os.getenv("BENCH_DRAW_DATE"))
end

function request()
  position = position + 1
  if position > #items then
    position = 1
    exhausted = exhausted + 1
  end
  local item = items[position]
  return wrk.format("POST", "/api/v1/ballots/" .. item[1] .. "/assign", bench_headers({
    ["Authorization"] = "Bearer " .. item[2],
    ["Content-Type"] = "application/json",
  }), body)
end

function response(status, headers, body)
  bench_count(status)
end
