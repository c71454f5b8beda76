-- POST /create, every request a new user (args: a nonce unique to the run).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local nonce, count = "run", 0

function init(args)
  nonce = args[1] or nonce
end

function request()
  count = count + 1
  local body = string.format(
    '{"email":"bench-%s-%d-%d@example.com","password":"benchpassword-%d"}', nonce, id, count, count)
  return wrk.format("POST", "/create", { ["Content-Type"] = "application/json" }, body)
end
