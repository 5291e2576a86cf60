-- wrk script for bench/api_throughput.py: POST /v1/entries or /v1/entries/batch with
-- unique idempotency keys per thread and request.
-- args: mode ("single" | "batch"), run nonce, number of user accounts, API key, batch size
local counter = 0
local thread_id = 0
local mode, nonce, accounts, key, batch_size

function setup(thread)
  thread:set("tid", tostring(thread_id_next or 0))
  thread_id_next = (thread_id_next or 0) + 1
end

function init(args)
  mode = args[1] or "single"
  nonce = args[2] or "run"
  accounts = tonumber(args[3] or "100")
  key = args[4]
  batch_size = tonumber(args[5] or "100")
  thread_id = tid or "0"
  math.randomseed(os.time() + tonumber(thread_id))
end

local function posting()
  local user = math.random(accounts) - 1
  local cents = math.random(1, 9999)
  return string.format(
    '{"source":"world:bench","destination":"user:b%d:usd","asset":"USD","amount":"%d.%02d"}',
    user, math.floor(cents / 100), cents % 100)
end

local function next_key()
  counter = counter + 1
  return string.format("%s-%s-%d", nonce, thread_id, counter)
end

function request()
  local headers = {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
  }
  if mode == "batch" then
    local items = {}
    for i = 1, batch_size do
      items[i] = string.format('{"idempotency_key":"%s","kind":"bench.transfer","postings":[%s]}',
        next_key(), posting())
    end
    return wrk.format("POST", "/v1/entries/batch", headers,
      '{"entries":[' .. table.concat(items, ",") .. ']}')
  end
  headers["Idempotency-Key"] = next_key()
  return wrk.format("POST", "/v1/entries", headers,
    '{"kind":"bench.transfer","postings":[' .. posting() .. ']}')
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"status_errors":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
