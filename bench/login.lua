-- POST /login as a random user (args: file of "email password" lines).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local bodies = {}

function init(args)
  for _, line in ipairs(read_lines(args[1])) do
    local email, password = line:match("^(%S+) (%S+)$")
    bodies[#bodies + 1] = string.format('{"email":"%s","password":"%s"}', email, password)
  end
  math.randomseed(id * 104729)
end

function request()
  return wrk.format("POST", "/login", { ["Content-Type"] = "application/json" },
    bodies[math.random(#bodies)])
end
