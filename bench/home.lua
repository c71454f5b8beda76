-- GET / with the access token of a random user of many (args: token file, one per line).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local tokens

function init(args)
  tokens = read_lines(args[1])
  math.randomseed(id * 7919)
end

function request()
  local token = tokens[math.random(#tokens)]
  return wrk.format("GET", "/", { ["Authorization"] = "Bearer " .. token })
end
