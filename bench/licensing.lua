-- wrk script for bench/licensing.py.
-- args: mode ("validate" | "usage"), run nonce, API key, license key, number of orgs
local counter = 0
local mode, nonce, api_key, license_key, orgs

function setup(thread)
  thread:set("tid", tostring(thread_id_next or 0))
  thread_id_next = (thread_id_next or 0) + 1
end

function init(args)
  mode = args[1] or "validate"
  nonce = args[2] or "run"
  api_key = args[3]
  license_key = args[4]
  orgs = tonumber(args[5] or "1")
  math.randomseed(os.time() + tonumber(tid or "0"))
end

function request()
  local headers = {["Content-Type"] = "application/json"}
  if mode == "validate" then
    return wrk.format("POST", "/v1/licenses/validate", headers,
      '{"key":"' .. license_key .. '"}')
  end
  counter = counter + 1
  headers["Authorization"] = "Bearer " .. api_key
  local org = math.random(orgs) - 1
  return wrk.format("POST", string.format("/v1/orgs/bench%d/usage", org), headers,
    string.format('{"event_id":"%s-%s-%d","metric":"api_calls","quantity":1}',
      nonce, tid or "0", counter))
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"status_errors":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
