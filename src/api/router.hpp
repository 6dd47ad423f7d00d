// The route table and request dispatch: path matching, trailing-slash redirects,
// authentication, method checks (405), CSRF, then the handler.
#pragma once

#include "app/app.hpp"
#include "http/message.hpp"

namespace castera::api {

Task<http::Response> handle_request(const http::Request& req, Loop& loop);

}  // namespace castera::api
