-- POST /api/v1/ballots/purchase: $BENCH_QUANTITY ballot(s) straight into the draw of
-- $BENCH_DRAW_DATE, paid with the sandbox's test card. Requests rotate over the bearer
-- tokens in $BENCH_TOKENS_FILE (one verified user each) and carry a unique Idempotency-Key,
-- as a careful client does. Every 201 records the first ballot id of its receipt, so that
-- bench/run.py can check afterwards that each acknowledged ballot is in the draw.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local tokens, body, prefix
local counter = 0

function init(args)
  bench_init()
  tokens = bench_lines(os.getenv("BENCH_TOKENS_FILE"))
  prefix = os.getenv("BENCH_KEY_PREFIX") .. "-" .. tid .. "-"
  body = string.format(
    '{"quantity": %d, "draw": "%s", "payment": {"card_number": "4242424242424242", '
      .. '"expiry_month": 12, "expiry_year": %d, "cvc": "123"}}',
    tonumber(os.getenv("BENCH_QUANTITY") or "1"),
    os.getenv("BENCH_DRAW_DATE"),
    tonumber(os.date("!%Y")) + 5
  )
end

function request()
  counter = counter + 1
  local token = tokens[(tid + counter * nthreads) % #tokens + 1]
  return wrk.format("POST", nil, bench_headers({
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. counter,
  }), body)
end

function response(status, headers, body)
  bench_count(status)
  if status == 201 then
    local id = string.match(body, '"ballots"%s*:%s*%[%s*{%s*"id"%s*:%s*(%d+)')
    if id then
      ids[#ids + 1] = tonumber(id)
    else
      unparsed = unparsed + 1
    end
  end
end
