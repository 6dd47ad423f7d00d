// /api/meetings/..., /api/join/<room_id>/: the meeting resource.
#include "api/common.hpp"
#include "api/handlers.hpp"
#include "api/serializers.hpp"
#include "http/body.hpp"
#include "util/random.hpp"
#include "util/time.hpp"

namespace castera::api {
namespace {

using validation::Mode;

// PUT and PATCH: the same checks, with or without required fields.
Task<http::Response> update_meeting(RequestContext& ctx, Mode mode) {
    boost::json::object data;
    if (auto refused = http::parse_body(ctx.req, data)) co_return std::move(*refused);
    validation::FieldErrors errors;
    MeetingChanges changes = services::read_meeting_changes(data, mode, errors);
    if (!errors.empty()) co_return field_errors_response(errors);
    auto updated = co_await ctx.services().meetings.update(ctx.caller(), ctx.path_meeting(), std::move(changes));
    if (!updated) co_return refusal_response(updated.refusal());
    co_return object_response(200, *updated, write_meeting);
}

// The caller's meetings (every meeting for an admin) in the given order and time window.
Task<http::Response> list_with(RequestContext& ctx, MeetingQuery query) {
    PageRequest page = page_request(ctx.req);
    query.limit = page.limit;
    query.offset = page.offset;
    auto rows = co_await ctx.services().meetings.list(ctx.caller(), std::move(query));
    co_return list_response(ctx.req, page, rows, write_meeting);
}

}  // namespace

Task<http::Response> list_meetings(RequestContext& ctx) {
    MeetingQuery query{.order = MeetingQuery::Order::newest_created_first};
    co_return co_await list_with(ctx, query);
}

Task<http::Response> upcoming_meetings(RequestContext& ctx) {
    MeetingQuery query{.scheduled_after = now_utc(), .order = MeetingQuery::Order::soonest_scheduled_first};
    co_return co_await list_with(ctx, query);
}

Task<http::Response> previous_meetings(RequestContext& ctx) {
    MeetingQuery query{.scheduled_until = now_utc(), .order = MeetingQuery::Order::latest_scheduled_first};
    co_return co_await list_with(ctx, query);
}

Task<http::Response> create_meeting(RequestContext& ctx) {
    boost::json::object data;
    if (auto refused = http::parse_body(ctx.req, data)) co_return std::move(*refused);
    validation::FieldErrors errors;
    MeetingChanges input = services::read_meeting_changes(data, Mode::full, errors);
    if (!errors.empty()) co_return field_errors_response(errors);
    auto created = co_await ctx.services().meetings.create(ctx.caller(), std::move(input));
    if (!created) co_return refusal_response(created.refusal());
    co_return object_response(201, *created, write_meeting);
}

// Any signed-in user may read any meeting by id, as the old server allowed.
Task<http::Response> retrieve_meeting(RequestContext& ctx) {
    co_return object_response(200, ctx.path_meeting(), write_meeting);
}

Task<http::Response> replace_meeting(RequestContext& ctx) { co_return co_await update_meeting(ctx, Mode::full); }

Task<http::Response> patch_meeting(RequestContext& ctx) { co_return co_await update_meeting(ctx, Mode::partial); }

Task<http::Response> delete_meeting(RequestContext& ctx) {
    auto deleted = co_await ctx.services().meetings.remove(ctx.caller(), ctx.path_meeting());
    if (!deleted) co_return refusal_response(deleted.refusal());
    http::Response res;
    res.status = 204;
    co_return res;
}

// {"status": "active"|"ended"}; anything else is the old server's {"error": "Invalid status"}.
Task<http::Response> set_meeting_status(RequestContext& ctx) {
    boost::json::object data;
    if (auto refused = http::parse_body(ctx.req, data)) co_return std::move(*refused);
    const boost::json::value* status = data.if_contains("status");
    std::string value = status && status->is_string() ? std::string(status->get_string()) : std::string();
    auto updated = co_await ctx.services().meetings.set_status(ctx.caller(), ctx.path_meeting(), value);
    if (!updated) {
        if (updated.refusal().kind == services::Refusal::Kind::invalid)
            co_return http::json_response(400, "{\"error\":\"Invalid status\"}");
        co_return refusal_response(updated.refusal());
    }
    co_return message_response("Status set to " + value);
}

Task<http::Response> join_meeting(RequestContext& ctx) {
    std::string room_id;
    if (!parse_uuid(ctx.room, room_id)) co_return not_found();
    auto meeting = co_await ctx.services().meetings.find_by_room(room_id);
    if (!meeting) co_return http::json_response(404, "{\"error\":\"Meeting not found\"}");
    co_return object_response(200, *meeting, write_meeting);
}

Task<http::Response> dashboard(RequestContext& ctx) {
    const User& user = ctx.caller();
    services::Dashboard figures = co_await ctx.services().meetings.dashboard(user);
    http::Response res;
    res.body.reserve(160 + figures.meetings.size() * 320);
    JsonWriter w(res.body);
    w.begin_object();
    w.field("user_email", user.email);
    w.field("full_name", user.full_name);
    w.field("total_meetings", figures.totals.meetings);
    w.field("total_recordings", figures.totals.recordings);
    w.field("total_messages", figures.totals.messages);
    w.key("meetings");
    w.begin_array();
    for (const Meeting& m : figures.meetings) write_meeting(w, m);
    w.end_array();
    w.end_object();
    co_return res;
}

}  // namespace castera::api
