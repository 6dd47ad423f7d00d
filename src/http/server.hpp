// The HTTP/1.1 + WebSocket server: one acceptor, one event loop per thread, connections
// handed to the loops in turn. Stops gracefully on SIGINT/SIGTERM.
#pragma once

#include <functional>

#include "app/app.hpp"

namespace castera::http {

// Binds the configured address (throws std::runtime_error with a clear message when it
// cannot), then serves until a stop signal. `on_listening` runs once the socket is bound.
void serve(App& app, const std::function<void(unsigned short port)>& on_listening = {});

}  // namespace castera::http
