-- Argo CD health check for splitdns.io resources (DNSZone, DNSForwarder, StaticHost).
-- The same script serves all three kinds: they share one status shape, written by the
-- splitdns operator: status.observedGeneration plus the conditions Accepted, Programmed and
-- Ready (type, status, reason, message). Lua 5.1 subset only (Argo CD runs gopher-lua).
--
--   no status yet / observedGeneration behind metadata.generation -> Progressing
--   Accepted=False (InvalidSpec, NotPermitted, Conflict)          -> Degraded, the condition's message
--   Ready=True                                                    -> Healthy
--   Programmed not True (DNS servers not yet serving it)          -> Progressing
--   anything else (Ready not True for another reason)             -> Progressing
local hs = {}

local function describe(c, fallback)
  if c == nil then
    return fallback
  end
  local text = c.message
  if text == nil or text == "" then
    text = fallback
  end
  if c.reason ~= nil and c.reason ~= "" then
    return c.reason .. ": " .. text
  end
  return text
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the splitdns operator to report status"
  return hs
end

local generation = 0
if obj.metadata ~= nil and obj.metadata.generation ~= nil then
  generation = obj.metadata.generation
end
local observed = obj.status.observedGeneration
if observed == nil or observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the splitdns operator to observe generation " .. tostring(generation)
  return hs
end

local conditions = {}
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type ~= nil then
      conditions[c.type] = c
    end
  end
end

local accepted = conditions["Accepted"]
if accepted ~= nil and accepted.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(accepted, "Not accepted")
  return hs
end

local ready = conditions["Ready"]
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

local programmed = conditions["Programmed"]
if programmed == nil or programmed.status ~= "True" then
  hs.status = "Progressing"
  hs.message = describe(programmed, "Waiting for the DNS servers to serve it")
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for Ready")
return hs
