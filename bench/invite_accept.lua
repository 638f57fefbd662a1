-- wrk script for seat_change_http_postgres. bench/http_api.py fills in TARGETS, MODE and TAG.
--
-- engine mode: one operation is two requests on one connection, the owner's invitation
--   (POST /v1/workspaces/{id}/invitations) and then the invitee's acceptance
--   (POST /v1/workspaces/{id}/invitations/accept), with an account-wide API key naming the
--   acting person in Seatledger-Actor.
-- raw mode: one operation is one POST / to the baseline app, which does both in one transaction.
--
-- Every wrk thread has one connection (wrk -t N -c N), so a thread's requests go one after the
-- other and the acceptance always follows the answer to its own invitation. Invitees are unique per run
-- (TAG), thread and operation.

local targets = {TARGETS}
local mode = "MODE"
local tag = "TAG"

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local counter = 0
-- The request last made, and the acceptance due once its invitation has been answered. wrk may
-- make a request and throw it away unsent (it asks thread 0 for one before its first send), so
-- an acceptance is only due after the answer to the invitation it follows.
local last = nil
local accept = nil

local function headers(token, actor)
  return {
    ["Authorization"] = "Bearer " .. token,
    ["Seatledger-Actor"] = actor,
    ["Content-Type"] = "application/json",
  }
end

request = function()
  if accept ~= nil then
    local p = accept
    accept = nil
    last = nil
    return wrk.format("POST", "/v1/workspaces/" .. p.ws .. "/invitations/accept",
      headers(p.token, p.email), "")
  end
  counter = counter + 1
  local t = targets[(counter + tid) % #targets + 1]
  local email = tag .. "-t" .. tid .. "-" .. counter .. "@bench.test"
  if mode == "raw" then
    local body = '{"account":"' .. t.account .. '","sub":"' .. t.sub .. '","ws":"' .. t.ws
      .. '","workspace":"' .. t.workspace .. '","owner":"' .. t.owner .. '","email":"'
      .. email .. '"}'
    return wrk.format("POST", "/", {["Content-Type"] = "application/json"}, body)
  end
  last = {ws = t.ws, token = t.token, email = email}
  return wrk.format("POST", "/v1/workspaces/" .. t.ws .. "/invitations",
    headers(t.token, t.owner), '{"emails":["' .. email .. '"],"role":"reviewer"}')
end

-- A refused request is an error of the bench: say what it was (wrk only counts them).
local reported = 0
response = function(status, headers, body)
  if status < 300 and last ~= nil then
    accept = last
  end
  local refused = status < 300 and string.find(body or "", '"refused":["', 1, true)
  if (status >= 300 or refused) and reported < 3 then
    reported = reported + 1
    io.stderr:write("HTTP " .. status .. ": " .. string.sub(body or "", 1, 400) .. "\n")
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
