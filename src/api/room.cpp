// /api/meetings/<id>/room/ (the room's controls) and /api/meetings/<id>/participants/<user>/<action>/
// (a moderator acting on someone in the room). The decisions are services::RoomControl's.
#include "api/common.hpp"
#include "api/handlers.hpp"
#include "api/serializers.hpp"
#include "http/body.hpp"

namespace castera::api {
namespace {

using services::ModerationAction;

http::Response settings_response(const RoomSettings& s) {
    http::Response res;
    JsonWriter w(res.body);
    w.begin_object();
    w.field("locked", s.locked);
    w.field("lobby", s.lobby);
    w.key("banned");
    w.begin_array();
    for (Id user : s.banned) w.value(user);
    w.end_array();
    w.end_object();
    return res;
}

Task<http::Response> moderate(RequestContext& ctx, ModerationAction action) {
    auto done = co_await ctx.services().rooms.moderate(ctx.caller(), ctx.path_meeting(), ctx.path_user, action);
    if (!done) co_return refusal_response(done.refusal());
    if (done->state) co_return object_response(200, *done->state, write_participant_state);
    co_return http::detail_response(200, done->detail);
}

}  // namespace

Task<http::Response> room_settings(RequestContext& ctx) {
    auto settings = co_await ctx.services().rooms.settings(ctx.caller(), ctx.path_meeting());
    if (!settings) co_return refusal_response(settings.refusal());
    co_return settings_response(*settings);
}

Task<http::Response> patch_room_settings(RequestContext& ctx) {
    boost::json::object data;
    if (auto refused = http::parse_body(ctx.req, data)) co_return std::move(*refused);
    validation::FieldErrors errors;
    services::RoomSettingsChanges changes = services::read_room_settings_changes(data, errors);
    if (!errors.empty()) co_return field_errors_response(errors);
    auto settings = co_await ctx.services().rooms.change_settings(ctx.caller(), ctx.path_meeting(), changes);
    if (!settings) co_return refusal_response(settings.refusal());
    co_return settings_response(*settings);
}

Task<http::Response> moderate_mute_audio(RequestContext& ctx) { co_return co_await moderate(ctx, ModerationAction::mute_audio); }
Task<http::Response> moderate_stop_video(RequestContext& ctx) { co_return co_await moderate(ctx, ModerationAction::stop_video); }
Task<http::Response> moderate_stop_screen_share(RequestContext& ctx) {
    co_return co_await moderate(ctx, ModerationAction::stop_screen_share);
}
Task<http::Response> moderate_lower_hand(RequestContext& ctx) { co_return co_await moderate(ctx, ModerationAction::lower_hand); }
Task<http::Response> moderate_kick(RequestContext& ctx) { co_return co_await moderate(ctx, ModerationAction::kick); }
Task<http::Response> moderate_unban(RequestContext& ctx) { co_return co_await moderate(ctx, ModerationAction::unban); }
Task<http::Response> moderate_admit(RequestContext& ctx) { co_return co_await moderate(ctx, ModerationAction::admit); }
Task<http::Response> moderate_deny(RequestContext& ctx) { co_return co_await moderate(ctx, ModerationAction::deny); }

}  // namespace castera::api
