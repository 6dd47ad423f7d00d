// The ICE servers a browser needs to call through NAT: STUN as configured, and TURN with
// time-limited credentials in coturn's REST scheme (username "<expiry>:<user id>", credential
// base64(HMAC-SHA1(static-auth-secret, username))), so that castera hands out credentials
// coturn checks without either asking the other. The same list goes to GET /api/ice-servers/
// and into the castera.v2 welcome.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "store/models.hpp"
#include "util/json_writer.hpp"

namespace castera::realtime {

using IceConfig = Config::Ice;

// The TURN credential for a username, as coturn computes it.
std::string turn_credential(std::string_view secret, std::string_view username);

// Writes the list as the value of the current key: [{"urls": [...]}, {"urls": [...],
// "username": ..., "credential": ...}] (an empty list when nothing is configured).
void write_ice_servers(JsonWriter& w, const IceConfig& config, Id user, std::chrono::system_clock::time_point now);

}  // namespace castera::realtime
