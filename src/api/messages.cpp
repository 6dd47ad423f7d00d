// /api/meetings/<id>/messages/ and /recordings/: the meeting's chat (shared with its room) and
// the links to its recordings.
#include "api/common.hpp"
#include "api/handlers.hpp"
#include "api/serializers.hpp"
#include "http/body.hpp"

namespace castera::api {

Task<http::Response> list_messages(RequestContext& ctx) {
    PageRequest page = page_request(ctx.req);
    auto rows = co_await ctx.services().chats.list(ctx.caller(), ctx.path_meeting(), page.limit, page.offset);
    if (!rows) co_return refusal_response(rows.refusal());
    co_return list_response(ctx.req, page, *rows, write_message);
}

// The body's "meeting" is ignored: the meeting is the one in the path.
Task<http::Response> create_message(RequestContext& ctx) {
    boost::json::object data;
    if (auto refused = http::parse_body(ctx.req, data)) co_return std::move(*refused);
    validation::FieldErrors errors;
    auto content = validation::read_char(data, "content", validation::CharRule{}, validation::Mode::full, errors);
    if (!errors.empty()) co_return field_errors_response(errors);
    std::vector<std::string> contents;
    contents.push_back(std::move(content.value));
    auto stored = co_await ctx.services().chats.post(ctx.caller(), ctx.path_meeting(), std::move(contents),
                                                     services::ChatChannel::rest);
    if (!stored) co_return refusal_response(stored.refusal());
    co_return object_response(201, stored->front(), write_message);
}

Task<http::Response> list_recordings(RequestContext& ctx) {
    PageRequest page = page_request(ctx.req);
    auto rows = co_await ctx.services().recordings.list(ctx.caller(), ctx.path_meeting(), page.limit, page.offset);
    if (!rows) co_return refusal_response(rows.refusal());
    co_return list_response(ctx.req, page, *rows, write_recording);
}

Task<http::Response> create_recording(RequestContext& ctx) {
    boost::json::object data;
    if (auto refused = http::parse_body(ctx.req, data)) co_return std::move(*refused);
    validation::FieldErrors errors;
    auto file_url = validation::read_url(data, "file_url", 200, errors);
    if (!errors.empty()) co_return field_errors_response(errors);
    auto stored = co_await ctx.services().recordings.create(ctx.caller(), ctx.path_meeting(), std::move(file_url.value));
    if (!stored) co_return refusal_response(stored.refusal());
    co_return object_response(201, *stored, write_recording);
}

}  // namespace castera::api
