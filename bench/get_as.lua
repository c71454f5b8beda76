-- GET of one path with one bearer token (args: token, path): the administration figures.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local token, path

function init(args)
  token = args[1]
  path = args[2]
end

function request()
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
