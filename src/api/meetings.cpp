// /api/meetings/..., /api/join/<room_id>/: the meeting resource.
#include <array>

#include "api/common.hpp"
#include "api/fields.hpp"
#include "api/handlers.hpp"
#include "api/serializers.hpp"
#include "realtime/frames.hpp"
#include "http/body.hpp"
#include "util/random.hpp"
#include "util/time.hpp"

namespace castera::api {
namespace {

constexpr std::array<std::string_view, 2> kTypes = {"public", "private"};
constexpr std::array<std::string_view, 2> kStatuses = {"active", "ended"};

// The writable fields of a meeting, validated in the serializer's field order. Read-only
// fields (id, user, created_on, room_id) and unknown fields are ignored, as DRF does.
MeetingChanges validate_meeting(const boost::json::object& data, Mode mode, FieldErrors& errors) {
    MeetingChanges changes;
    auto title = read_char(data, "title", CharRule{.required = true, .max_length = 255}, mode, errors);
    if (title.present && title.ok) changes.title = title.value;
    auto description = read_char(
        data, "description", CharRule{.required = false, .allow_null = true, .allow_blank = true}, mode, errors);
    if (description.present && description.ok)
        changes.description = description.null ? std::optional<std::string>{} : description.value;
    auto type_of = read_choice(data, "type_of", kTypes, false, mode, errors);
    if (type_of.present && type_of.ok) changes.type_of = type_of.value;
    auto scheduled = read_datetime(data, "scheduled_date", true, mode, errors);
    if (scheduled.present && scheduled.ok) changes.scheduled_date = scheduled.value;
    auto status = read_choice(data, "status", kStatuses, false, mode, errors);
    if (status.present && status.ok) changes.status = status.value;
    return changes;
}

// PUT and PATCH: the same checks, with or without required fields.
Task<http::Response> update_meeting(RequestContext& ctx, Mode mode) {
    auto meeting = co_await find_path_meeting(ctx);
    if (!meeting) co_return not_found();
    if (!may_manage(ctx.caller(), *meeting)) co_return forbidden();
    boost::json::object data;
    if (auto refused = http::parse_body(ctx.req, data)) co_return std::move(*refused);
    FieldErrors errors;
    MeetingChanges changes = validate_meeting(data, mode, errors);
    if (!errors.empty()) co_return errors.response();
    auto updated = co_await ctx.store().update_meeting(meeting->id, std::move(changes));
    if (!updated) co_return not_found();
    if (updated->status != meeting->status) publish_meeting_status(ctx.app(), updated->id, updated->status);
    co_return object_response(200, *updated, write_meeting);
}

// The caller's meetings (every meeting for an admin) in the given order and time window.
Task<http::Response> list_with(RequestContext& ctx, MeetingQuery query) {
    if (!ctx.caller().is_admin()) query.owner = ctx.caller().id;
    PageRequest page = page_request(ctx.req);
    query.limit = page.limit;
    query.offset = page.offset;
    auto rows = co_await ctx.store().list_meetings(std::move(query));
    co_return list_response(ctx, page, rows, write_meeting);
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
    FieldErrors errors;
    MeetingChanges input = validate_meeting(data, Mode::full, errors);
    if (!errors.empty()) co_return errors.response();
    Meeting meeting;
    meeting.title = std::move(*input.title);
    if (input.description) meeting.description = std::move(*input.description);
    if (input.type_of) meeting.type_of = std::move(*input.type_of);
    meeting.scheduled_date = *input.scheduled_date;
    if (input.status) meeting.status = std::move(*input.status);
    meeting.user_id = ctx.caller().id;
    Meeting created = co_await ctx.store().create_meeting(std::move(meeting));
    co_return object_response(201, created, write_meeting);
}

// Any signed-in user may read any meeting by id, as the old server allowed.
Task<http::Response> retrieve_meeting(RequestContext& ctx) {
    auto meeting = co_await find_path_meeting(ctx);
    if (!meeting) co_return not_found();
    co_return object_response(200, *meeting, write_meeting);
}

Task<http::Response> replace_meeting(RequestContext& ctx) { co_return co_await update_meeting(ctx, Mode::full); }

Task<http::Response> patch_meeting(RequestContext& ctx) { co_return co_await update_meeting(ctx, Mode::partial); }

Task<http::Response> delete_meeting(RequestContext& ctx) {
    auto meeting = co_await find_path_meeting(ctx);
    if (!meeting) co_return not_found();
    if (!may_manage(ctx.caller(), *meeting)) co_return forbidden();
    co_await ctx.store().delete_meeting(meeting->id);
    ctx.app().bus->close_room(meeting->id, kCloseMeetingDeleted, "the meeting was deleted");
    http::Response res;
    res.status = 204;
    co_return res;
}

Task<http::Response> set_meeting_status(RequestContext& ctx) {
    auto meeting = co_await find_path_meeting(ctx);
    if (!meeting) co_return not_found();
    if (!may_manage(ctx.caller(), *meeting)) co_return forbidden();
    boost::json::object data;
    if (auto refused = http::parse_body(ctx.req, data)) co_return std::move(*refused);
    const boost::json::value* status = data.if_contains("status");
    if (!status || !status->is_string() || (status->get_string() != "active" && status->get_string() != "ended")) {
        http::Response res = http::json_response(400, "{\"error\":\"Invalid status\"}");
        co_return res;
    }
    std::string value(status->get_string());
    MeetingChanges changes{.status = value};
    co_await ctx.store().update_meeting(meeting->id, std::move(changes));
    publish_meeting_status(ctx.app(), meeting->id, value);
    co_return message_response("Status set to " + value);
}

Task<http::Response> join_meeting(RequestContext& ctx) {
    std::string room_id;
    if (!parse_uuid(ctx.room, room_id)) co_return not_found();
    auto meeting = co_await ctx.store().find_meeting_by_room(room_id);
    if (!meeting) co_return http::json_response(404, "{\"error\":\"Meeting not found\"}");
    co_return object_response(200, *meeting, write_meeting);
}

}  // namespace castera::api
