// Request bodies as DRF's parsers read them: JSON, urlencoded forms and multipart forms all
// become one JSON object (form values are strings); anything else is refused with DRF's error.
#pragma once

#include <boost/json/object.hpp>

#include <optional>

#include "http/message.hpp"

namespace castera::http {

// Parses the body into `data`. On failure returns the 400/415 response to send instead.
// A request without a Content-Type, or with an empty body, gives an empty object (as DRF).
std::optional<Response> parse_body(const Request& req, boost::json::object& data);

}  // namespace castera::http
