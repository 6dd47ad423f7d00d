// The browser client's pages and assets (web/app/), served from the binary itself.
// serve_static answers GET and HEAD for "/" (a redirect to /app/) and everything under /app/:
// files by their path, and every other page route of the client with its index.html (the
// client routes with the history API). It returns nullopt for paths it does not own, so that
// the caller's own 404 applies.
#pragma once

#include <optional>

#include "http/message.hpp"

namespace castera::web {

std::optional<http::Response> serve_static(const http::Request& req);

}  // namespace castera::web
