#include "realtime/frames.hpp"

#include "app/app.hpp"
#include "util/json_writer.hpp"

namespace castera {

Frame chat_frame(std::string_view content, std::string_view sender_email) {
    auto out = std::make_shared<std::string>();
    out->reserve(content.size() + sender_email.size() + 32);
    JsonWriter w(*out);
    w.begin_object();
    w.field("message", content);
    w.field("sender", sender_email);
    w.end_object();
    return out;
}

Frame presence_frame(std::string_view what, std::string_view user_email) {
    auto out = std::make_shared<std::string>();
    JsonWriter w(*out);
    w.begin_object();
    w.field("presence", what);
    w.field("user", user_email);
    w.end_object();
    return out;
}

void publish_message(App& app, const Message& message) {
    app.rooms.broadcast(message.meeting_id, chat_frame(message.content, message.user_email));
}

}  // namespace castera
