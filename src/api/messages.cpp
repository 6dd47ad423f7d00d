// /api/meetings/<id>/messages/: the meeting's chat, shared with the WebSocket room.
#include "api/common.hpp"
#include "api/fields.hpp"
#include "api/handlers.hpp"
#include "api/serializers.hpp"
#include "http/body.hpp"
#include "realtime/frames.hpp"

namespace castera::api {

Task<http::Response> list_messages(RequestContext& ctx) {
    auto meeting = co_await find_path_meeting(ctx);
    if (!meeting) co_return not_found();
    // The old server's own wording for this refusal, kept for its clients.
    if (!may_manage(ctx.caller(), *meeting))
        co_return http::error_response(403, "You are not allowed to view messages for this meeting.");
    PageRequest page = page_request(ctx.req);
    auto rows = co_await ctx.store().list_messages(meeting->id, page.limit, page.offset);
    co_return list_response(ctx, page, rows, write_message);
}

// The body's "meeting" is ignored: the meeting is the one in the path.
Task<http::Response> create_message(RequestContext& ctx) {
    auto meeting = co_await find_path_meeting(ctx);
    if (!meeting) co_return not_found();
    if (!may_manage(ctx.caller(), *meeting)) co_return forbidden();
    boost::json::object data;
    if (auto refused = http::parse_body(ctx.req, data)) co_return std::move(*refused);
    FieldErrors errors;
    auto content = read_char(data, "content", CharRule{}, Mode::full, errors);
    if (!errors.empty()) co_return errors.response();
    Message stored = co_await ctx.store().create_message(meeting->id, ctx.caller().id, std::move(content.value));
    publish_message(ctx.app(), stored);
    co_return object_response(201, stored, write_message);
}

}  // namespace castera::api
