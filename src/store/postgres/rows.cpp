#include "store/postgres/rows.hpp"

namespace castera::postgres {

User read_user_at(const Result& r, int row, int first) {
    return User{.id = r.integer(row, first),
                .email = r.text(row, first + 1),
                .password = r.text(row, first + 2),
                .last_login = r.optional_time(row, first + 3),
                .is_superuser = r.boolean(row, first + 4),
                .full_name = r.optional_text(row, first + 5),
                .image = r.optional_text(row, first + 6),
                .role = r.text(row, first + 7),
                .is_active = r.boolean(row, first + 8),
                .is_staff = r.boolean(row, first + 9)};
}

Meeting read_meeting_at(const Result& r, int row, int first) {
    return Meeting{.id = r.integer(row, first),
                   .title = r.text(row, first + 1),
                   .description = r.optional_text(row, first + 2),
                   .type_of = r.text(row, first + 3),
                   .created_on = r.time(row, first + 4),
                   .room_id = r.text(row, first + 5),  // uuid's text form: lower case with dashes
                   .scheduled_date = r.time(row, first + 6),
                   .status = r.text(row, first + 7),
                   .user_id = r.integer(row, first + 8)};
}

Message read_message(const Result& r, int row) {
    return Message{.id = r.integer(row, 0),
                   .meeting_id = r.integer(row, 1),
                   .user_id = r.integer(row, 2),
                   .user_email = r.text(row, 3),
                   .content = r.text(row, 4),
                   .timestamp = r.time(row, 5)};
}

Recording read_recording(const Result& r, int row) {
    return Recording{.id = r.integer(row, 0),
                     .meeting_id = r.integer(row, 1),
                     .uploaded_by = r.integer(row, 2),
                     .uploaded_by_email = r.text(row, 3),
                     .file_url = r.text(row, 4),
                     .created_at = r.time(row, 5)};
}

ParticipantState read_state(const Result& r, int row) {
    return ParticipantState{.id = r.integer(row, 0),
                            .meeting_id = r.integer(row, 1),
                            .user_id = r.integer(row, 2),
                            .user_email = r.text(row, 3),
                            .audio_muted = r.boolean(row, 4),
                            .video_stopped = r.boolean(row, 5),
                            .in_call = r.boolean(row, 6),
                            .raised_hand = r.boolean(row, 7),
                            .screen_sharing = r.boolean(row, 8)};
}

Signal read_signal(const Result& r, int row) {
    return Signal{.id = r.integer(row, 0),
                  .meeting_id = r.integer(row, 1),
                  .sender_id = r.integer(row, 2),
                  .sender_email = r.text(row, 3),
                  .signal_type = r.text(row, 4),
                  .data = r.text(row, 5),
                  .created_at = r.time(row, 6)};
}

AdminLogEntry read_admin_log(const Result& r, int row) {
    return AdminLogEntry{.id = r.integer(row, 0),
                         .action_time = r.time(row, 1),
                         .user_id = r.integer(row, 2),
                         .user_email = r.text(row, 3),
                         .app_label = r.text(row, 4),
                         .model = r.text(row, 5),
                         .object_id = r.text(row, 6),
                         .object_repr = r.text(row, 7),
                         .action_flag = static_cast<int>(r.integer(row, 8)),
                         .change_message = r.text(row, 9)};
}

ApiToken read_token(const Result& r, int row) {
    return ApiToken{.id = r.integer(row, 0),
                    .user_id = r.integer(row, 1),
                    .name = r.text(row, 2),
                    .key_hash = r.text(row, 3),
                    .prefix = r.text(row, 4),
                    .created_at = r.time(row, 5),
                    .expires_at = r.optional_time(row, 6),
                    .last_used_at = r.optional_time(row, 7)};
}

WebhookEvent read_webhook_event(const Result& r, int row) {
    return WebhookEvent{.id = r.integer(row, 0),
                        .event_id = r.text(row, 1),
                        .endpoint = r.text(row, 2),
                        .type = r.text(row, 3),
                        .meeting_id = r.integer(row, 4),
                        .body = r.text(row, 5),
                        .created_at = r.time(row, 6),
                        .status = r.text(row, 7),
                        .attempts = r.integer(row, 8),
                        .next_attempt_at = r.time(row, 9),
                        .last_status = r.is_null(row, 10) ? std::nullopt : std::optional(r.integer(row, 10)),
                        .last_error = r.optional_text(row, 11),
                        .delivered_at = r.optional_time(row, 12)};
}

}  // namespace castera::postgres
