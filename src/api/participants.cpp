// /api/meetings/<id>/<action>/: each participant changes only their own state.
#include "api/common.hpp"
#include "api/handlers.hpp"
#include "api/serializers.hpp"

namespace castera::api {
namespace {

// Sets one flag of the caller's state in the meeting (the row is made on first use).
Task<http::Response> set_own_flag(RequestContext& ctx, ParticipantFlag flag, bool value, std::string_view message) {
    FlagChanges flags{{flag, value}};
    auto state = co_await ctx.services().participants.change_own(ctx.caller(), ctx.path_meeting(), std::move(flags));
    if (!state) co_return refusal_response(state.refusal());
    co_return message_response(message);
}

}  // namespace

Task<http::Response> list_participants(RequestContext& ctx) {
    Page<ParticipantState> rows;
    rows.rows = co_await ctx.services().participants.list(ctx.path_meeting());
    co_return list_response(ctx.req, PageRequest{}, rows, write_participant_state);
}

Task<http::Response> mute_audio(RequestContext& ctx) {
    co_return co_await set_own_flag(ctx, ParticipantFlag::audio_muted, true, "Audio muted");
}
Task<http::Response> unmute_audio(RequestContext& ctx) {
    co_return co_await set_own_flag(ctx, ParticipantFlag::audio_muted, false, "Audio unmuted");
}
Task<http::Response> stop_video(RequestContext& ctx) {
    co_return co_await set_own_flag(ctx, ParticipantFlag::video_stopped, true, "Video stopped");
}
Task<http::Response> start_video(RequestContext& ctx) {
    co_return co_await set_own_flag(ctx, ParticipantFlag::video_stopped, false, "Video started");
}
Task<http::Response> stop_call(RequestContext& ctx) {
    co_return co_await set_own_flag(ctx, ParticipantFlag::in_call, false, "Call stopped");
}
Task<http::Response> join_call(RequestContext& ctx) {
    co_return co_await set_own_flag(ctx, ParticipantFlag::in_call, true, "Joined call");
}
Task<http::Response> raise_hand(RequestContext& ctx) {
    co_return co_await set_own_flag(ctx, ParticipantFlag::raised_hand, true, "Hand raised");
}
Task<http::Response> lower_hand(RequestContext& ctx) {
    co_return co_await set_own_flag(ctx, ParticipantFlag::raised_hand, false, "Hand lowered");
}
Task<http::Response> start_screen_share(RequestContext& ctx) {
    co_return co_await set_own_flag(ctx, ParticipantFlag::screen_sharing, true, "Screen sharing started");
}
Task<http::Response> stop_screen_share(RequestContext& ctx) {
    co_return co_await set_own_flag(ctx, ParticipantFlag::screen_sharing, false, "Screen sharing stopped");
}

}  // namespace castera::api
