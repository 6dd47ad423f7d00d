// The frames of the compatible protocol (the old server's), encoded once per event.
#pragma once

#include <string_view>

#include "realtime/room_hub.hpp"
#include "store/models.hpp"

namespace castera {

struct App;

// {"message": "...", "sender": "<email>"}
Frame chat_frame(std::string_view content, std::string_view sender_email);
// {"presence": "joined"|"left", "user": "<email>"}
Frame presence_frame(std::string_view what, std::string_view user_email);

// Delivers a stored message to everyone in its room (REST and WebSocket share one
// conversation).
void publish_message(App& app, const Message& message);

}  // namespace castera
