// Every route's handler. One file per resource implements them.
#pragma once

#include "api/context.hpp"

namespace castera::api {

// root.cpp: service routes.
Task<http::Response> api_root(RequestContext& ctx);
Task<http::Response> healthz(RequestContext& ctx);
Task<http::Response> readyz(RequestContext& ctx);
Task<http::Response> metrics(RequestContext& ctx);
Task<http::Response> ice_servers(RequestContext& ctx);

// schema.cpp: the OpenAPI document.
Task<http::Response> api_schema(RequestContext& ctx);

// auth_routes.cpp
Task<http::Response> login(RequestContext& ctx);
Task<http::Response> logout(RequestContext& ctx);
Task<http::Response> me(RequestContext& ctx);

// tokens.cpp
Task<http::Response> list_api_tokens(RequestContext& ctx);
Task<http::Response> list_webhook_events(RequestContext& ctx);
Task<http::Response> retry_webhook_event(RequestContext& ctx);
Task<http::Response> create_api_token(RequestContext& ctx);
Task<http::Response> delete_api_token(RequestContext& ctx);

// meetings.cpp
Task<http::Response> list_meetings(RequestContext& ctx);
Task<http::Response> create_meeting(RequestContext& ctx);
Task<http::Response> retrieve_meeting(RequestContext& ctx);
Task<http::Response> replace_meeting(RequestContext& ctx);
Task<http::Response> patch_meeting(RequestContext& ctx);
Task<http::Response> delete_meeting(RequestContext& ctx);
Task<http::Response> set_meeting_status(RequestContext& ctx);
Task<http::Response> upcoming_meetings(RequestContext& ctx);
Task<http::Response> previous_meetings(RequestContext& ctx);
Task<http::Response> join_meeting(RequestContext& ctx);

Task<http::Response> dashboard(RequestContext& ctx);

// messages.cpp: the chat and the recordings.
Task<http::Response> list_messages(RequestContext& ctx);
Task<http::Response> create_message(RequestContext& ctx);
Task<http::Response> list_recordings(RequestContext& ctx);
Task<http::Response> create_recording(RequestContext& ctx);

// participants.cpp: each sets one flag of the caller's own participant state.
Task<http::Response> list_participants(RequestContext& ctx);
Task<http::Response> mute_audio(RequestContext& ctx);
Task<http::Response> unmute_audio(RequestContext& ctx);
Task<http::Response> stop_video(RequestContext& ctx);
Task<http::Response> start_video(RequestContext& ctx);
Task<http::Response> stop_call(RequestContext& ctx);
Task<http::Response> join_call(RequestContext& ctx);
Task<http::Response> raise_hand(RequestContext& ctx);
Task<http::Response> lower_hand(RequestContext& ctx);
Task<http::Response> start_screen_share(RequestContext& ctx);
Task<http::Response> stop_screen_share(RequestContext& ctx);

// room.cpp: the room's controls, and moderators acting on a participant.
Task<http::Response> room_settings(RequestContext& ctx);
Task<http::Response> patch_room_settings(RequestContext& ctx);
Task<http::Response> moderate_mute_audio(RequestContext& ctx);
Task<http::Response> moderate_stop_video(RequestContext& ctx);
Task<http::Response> moderate_stop_screen_share(RequestContext& ctx);
Task<http::Response> moderate_lower_hand(RequestContext& ctx);
Task<http::Response> moderate_kick(RequestContext& ctx);
Task<http::Response> moderate_unban(RequestContext& ctx);
Task<http::Response> moderate_admit(RequestContext& ctx);
Task<http::Response> moderate_deny(RequestContext& ctx);

}  // namespace castera::api
