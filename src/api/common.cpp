#include "api/common.hpp"

#include "util/json_writer.hpp"

namespace castera::api {

Task<std::optional<Meeting>> find_path_meeting(RequestContext& ctx) {
    if (ctx.meeting_read_ahead) {
        // Used once: a later call in the same handler reads the meeting as it is by then.
        std::optional<Meeting> meeting = std::move(*ctx.meeting_read_ahead);
        ctx.meeting_read_ahead.reset();
        co_return meeting;
    }
    co_return co_await ctx.store().find_meeting(ctx.id);
}

http::Response message_response(std::string_view message) {
    http::Response res;
    JsonWriter w(res.body);
    w.begin_object();
    w.field("message", message);
    w.end_object();
    return res;
}

}  // namespace castera::api
