-- wrk script for one endpoint family: `wrk ... -s endpoint.lua -- <endpoint> <data.lua>`.
-- data.lua (written by bench/harness.py) holds pre-signed tokens of seeded users, one
-- accepted friend and one other user each, 50-id lists and search terms.

local endpoint, data
local counter = 0
local threads = {}

local function pick(list)
  return list[math.random(#list)]
end

local builders = {
  ping = function(u) return "GET", "/ping", false end,
  own_profile = function(u) return "GET", "/users/me", true end,
  public_profile = function(u) return "GET", "/users/id/" .. u.other, false end,
  id_list_50 = function(u) return "GET", "/users/ids/" .. pick(data.id_lists), false end,
  friends = function(u) return "GET", "/users/id/" .. u.friend .. "/friends?limit=15", true end,
  mutual_friends = function(u) return "GET", "/users/id/" .. u.friend .. "/mutual-friends", true end,
  mutual_count = function(u) return "GET", "/users/id/" .. u.friend .. "/mutual-friends/count", true end,
  received_requests = function(u) return "GET", "/friendship/requests", true end,
  unread_notifications = function(u) return "GET", "/notifications/share?is_read=false", true end,
  sent_notifications = function(u) return "GET", "/notifications/share/sent", true end,
  broadcast_share = function(u) return "POST", "/notifications/share", true end,
}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

function init(args)
  endpoint = args[1]
  data = dofile(args[2])
  math.randomseed(os.time() * 1000 + (thread_no or 0))
  -- user search rows: data.search[endpoint] holds the kind and the terms of the row
  local search = data.search[endpoint]
  if search ~= nil then
    builders[endpoint] = function(u) return "GET", "/users/search/" .. search.kind .. "/" .. pick(search.terms), true end
  end
  if builders[endpoint] == nil then
    error("unknown endpoint " .. tostring(endpoint))
  end
end

function request()
  local u = pick(data.users)
  local method, path, auth = builders[endpoint](u)
  local headers = {}
  if auth then
    headers["Authorization"] = "Bearer " .. u.token
  end
  local body = nil
  if method == "POST" then
    counter = counter + 1
    headers["Content-Type"] = "application/json"
    body = string.format('{"url": "%s%d-%d", "title": "bench share %d"}', data.share_url_prefix, thread_no or 0, counter, counter)
  end
  return wrk.format(method, path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
