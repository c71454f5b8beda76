-- POST /refresh-access. Refresh tokens are single-use: each thread keeps a queue of live
-- ones (its share of the file given as args[1]); a request takes one, its 200 response puts
-- the rotated one back. A connection's next request is built after its response is read, so
-- the queue never runs dry while it holds at least one token per connection.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local queue, head, tail = {}, 1, 0

function init(args)
  local all = read_lines(args[1])
  local threads = tonumber(args[2])
  for i, token in ipairs(all) do
    if (i - 1) % threads == id - 1 then
      tail = tail + 1
      queue[tail] = token
    end
  end
end

function request()
  local token
  if head <= tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  else
    token = "exhausted"
  end
  return wrk.format("POST", "/refresh-access", { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local token = body:match('"refresh_token":"([^"]+)"')
    if token then
      tail = tail + 1
      queue[tail] = token
    end
  end
end
