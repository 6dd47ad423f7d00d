// Small pieces several handlers share.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string_view>

#include "api/context.hpp"
#include "http/responses.hpp"
#include "services/outcome.hpp"

namespace castera::api {

// {"message": "..."} with 200, the shape of the old action routes.
http::Response message_response(std::string_view message);

// A service's refusal in DRF's words: 404 / 403 {"detail"}, 400 with the field errors, 429.
http::Response refusal_response(const services::Refusal& refusal);

// 400 with {"field": ["message", ...]}.
http::Response field_errors_response(const validation::FieldErrors& errors);

inline http::Response not_found() { return http::error_response(404, http::kNotFound); }

}  // namespace castera::api
