-- wrk script: replays pre-signed webhook deliveries, each one once.
-- The file (env DELIVERIES) has one delivery per line: webhook-id \t timestamp \t signature \t body
-- Each wrk thread takes every Nth line so no two threads send the same delivery.
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end

function init(args)
  local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
  requests = {}
  local path = os.getenv("WEBHOOK_PATH") or "/webhooks/moment"
  local n = 0
  for line in io.lines(os.getenv("DELIVERIES")) do
    if n % nthreads == index then
      local id, ts, sig, body = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)\t(.*)")
      local headers = {}
      headers["webhook-id"] = id
      headers["webhook-timestamp"] = ts
      headers["webhook-signature"] = sig
      headers["content-type"] = "application/json"
      table.insert(requests, wrk.format("POST", path, headers, body))
    end
    n = n + 1
  end
  position = 0
end

function request()
  position = position + 1
  if position > #requests then
    -- Out of fresh deliveries: resend from the start (the listener answers "duplicate").
    position = 1
  end
  return requests[position]
end
