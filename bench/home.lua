-- GET / with the access token of a random user of many (args: token file, one per line).
-- Every request is formatted once, in init: the load generator shares the server's cores, so
-- formatting each request anew (as /health's static request is not) would measure wrk.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local requests

function init(args)
  requests = {}
  for i, token in ipairs(read_lines(args[1])) do
    requests[i] = wrk.format("GET", "/", { ["Authorization"] = "Bearer " .. token })
  end
  math.randomseed(id * 7919)
end

function request()
  return requests[math.random(#requests)]
end
