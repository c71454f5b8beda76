-- GET /health: the cost of the HTTP stack alone.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
wrk.method = "GET"
wrk.path = "/health"
