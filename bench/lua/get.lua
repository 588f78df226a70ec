-- GET the URL given to wrk (e.g. /healthz, /api/v1/draws/{date}/proof), anonymously, as a
-- client behind the TLS proxy; counts the status codes (a 3xx is not a success here).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "GET"
wrk.headers["X-Forwarded-Proto"] = "https"

function init(args)
  bench_init()
end

function response(status, headers, body)
  bench_count(status)
end
