// X-Request-ID: the one a client or proxy sent when it is well-formed (1-128 characters of
// A-Z a-z 0-9 . _ -), else a new one. Either way it goes back in the answer and into the
// access log; a malformed one is neither echoed nor logged (it could hold anything).
#pragma once

#include <string>
#include <string_view>

namespace castera::http {

bool well_formed_request_id(std::string_view id);

// The request's id: `sent` when well-formed, else a new one, unique in this process and
// unlikely to repeat across processes (a random prefix per process, a count per thread).
std::string request_id_for(std::string_view sent);

}  // namespace castera::http
