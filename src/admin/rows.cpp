#include "admin/rows.hpp"

#include "util/time.hpp"
#include "util/validate.hpp"

namespace castera::admin {
namespace {

std::string flag(bool v) { return v ? "1" : ""; }

// The first 50 characters of a long text, as a list shows it.
std::string shortened(const std::string& text) {
    if (utf8_length(text) <= 50) return text;
    std::size_t chars = 0, i = 0;
    for (; i < text.size() && chars < 49; ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++chars;
    while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
    return text.substr(0, i) + "…";
}

Cell bool_cell(bool v) { return Cell{v ? "Yes" : "No", {}, v ? 1 : 0}; }
Cell link_cell(std::string text, AdminModel model, Id id) { return Cell{std::move(text), change_url(model, id)}; }

}  // namespace

AdminModel model_of(const ConsoleRow& row) { return static_cast<AdminModel>(row.record.index()); }

Id row_id(const ConsoleRow& row) {
    return std::visit([](const auto& r) { return r.id; }, row.record);
}

std::string object_repr(const ConsoleRow& row) {
    return std::visit(
        [](const auto& r) -> std::string {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, User>) return r.email;
            else if constexpr (std::is_same_v<T, Meeting>) return r.title;
            else if constexpr (std::is_same_v<T, Message>) return "Message object (" + std::to_string(r.id) + ")";
            else if constexpr (std::is_same_v<T, Signal>) return "Signal object (" + std::to_string(r.id) + ")";
            else if constexpr (std::is_same_v<T, Recording>) return "Recording object (" + std::to_string(r.id) + ")";
            else return "ParticipantState object (" + std::to_string(r.id) + ")";
        },
        row.record);
}

std::string show_time(TimePoint t) {
    std::string text = format_db(t);  // "YYYY-MM-DD hh:mm:ss.uuuuuu"
    if (text.ends_with(".000000")) text.resize(text.size() - 7);
    return text;
}

Cell cell(const ConsoleRow& row, std::string_view column) {
    using M = AdminModel;
    return std::visit(
        [&](const auto& r) -> Cell {
            using T = std::decay_t<decltype(r)>;
            if (column == "id") return Cell{std::to_string(r.id)};
            if constexpr (std::is_same_v<T, User>) {
                if (column == "email") return Cell{r.email};
                if (column == "full_name") return Cell{r.full_name.value_or("-")};
                if (column == "role") return Cell{r.role == "admin" ? "Admin" : "User"};
                if (column == "is_staff") return bool_cell(r.is_staff);
                if (column == "is_superuser") return bool_cell(r.is_superuser);
                if (column == "is_active") return bool_cell(r.is_active);
            } else if constexpr (std::is_same_v<T, Meeting>) {
                if (column == "title") return Cell{r.title};
                if (column == "user") return link_cell(row.related, M::user, r.user_id);
                if (column == "type_of") return Cell{r.type_of == "private" ? "Private" : "Public"};
                if (column == "status") return Cell{r.status == "ended" ? "Ended" : "Active"};
                if (column == "scheduled_date") return Cell{show_time(r.scheduled_date)};
                if (column == "created_on") return Cell{show_time(r.created_on)};
            } else {
                if (column == "meeting") return link_cell(row.related, M::meeting, r.meeting_id);
                if constexpr (std::is_same_v<T, Message>) {
                    if (column == "user") return link_cell(r.user_email, M::user, r.user_id);
                    if (column == "content") return Cell{shortened(r.content)};
                    if (column == "timestamp") return Cell{show_time(r.timestamp)};
                } else if constexpr (std::is_same_v<T, Signal>) {
                    if (column == "sender") return link_cell(r.sender_email, M::user, r.sender_id);
                    if (column == "signal_type")
                        return Cell{r.signal_type == "ice" ? "ICE Candidate" : r.signal_type == "answer" ? "Answer" : "Offer"};
                    if (column == "created_at") return Cell{show_time(r.created_at)};
                } else if constexpr (std::is_same_v<T, Recording>) {
                    if (column == "uploaded_by") return link_cell(r.uploaded_by_email, M::user, r.uploaded_by);
                    if (column == "file_url") return Cell{r.file_url};
                    if (column == "created_at") return Cell{show_time(r.created_at)};
                } else if constexpr (std::is_same_v<T, ParticipantState>) {
                    if (column == "user") return link_cell(r.user_email, M::user, r.user_id);
                    if (column == "audio_muted") return bool_cell(r.audio_muted);
                    if (column == "video_stopped") return bool_cell(r.video_stopped);
                    if (column == "in_call") return bool_cell(r.in_call);
                    if (column == "raised_hand") return bool_cell(r.raised_hand);
                    if (column == "screen_sharing") return bool_cell(r.screen_sharing);
                }
            }
            return Cell{};
        },
        row.record);
}

std::string form_value(const ConsoleRow& row, std::string_view field) {
    return std::visit(
        [&](const auto& r) -> std::string {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, User>) {
                if (field == "email") return r.email;
                if (field == "full_name") return r.full_name.value_or("");
                if (field == "image") return r.image.value_or("");
                if (field == "role") return r.role;
                if (field == "is_active") return flag(r.is_active);
                if (field == "is_staff") return flag(r.is_staff);
                if (field == "is_superuser") return flag(r.is_superuser);
            } else if constexpr (std::is_same_v<T, Meeting>) {
                if (field == "user") return std::to_string(r.user_id);
                if (field == "title") return r.title;
                if (field == "description") return r.description.value_or("");
                if (field == "type_of") return r.type_of;
                if (field == "scheduled_date") return show_time(r.scheduled_date);
                if (field == "status") return r.status;
            } else {
                if (field == "meeting") return std::to_string(r.meeting_id);
                if constexpr (std::is_same_v<T, Message>) {
                    if (field == "user") return std::to_string(r.user_id);
                    if (field == "content") return r.content;
                } else if constexpr (std::is_same_v<T, Signal>) {
                    if (field == "sender") return std::to_string(r.sender_id);
                    if (field == "signal_type") return r.signal_type;
                    if (field == "data") return r.data;
                } else if constexpr (std::is_same_v<T, Recording>) {
                    if (field == "uploaded_by") return std::to_string(r.uploaded_by);
                    if (field == "file_url") return r.file_url;
                } else if constexpr (std::is_same_v<T, ParticipantState>) {
                    if (field == "user") return std::to_string(r.user_id);
                    if (field == "audio_muted") return flag(r.audio_muted);
                    if (field == "video_stopped") return flag(r.video_stopped);
                    if (field == "in_call") return flag(r.in_call);
                    if (field == "raised_hand") return flag(r.raised_hand);
                    if (field == "screen_sharing") return flag(r.screen_sharing);
                }
            }
            return {};
        },
        row.record);
}

std::string readonly_label(std::string_view field) {
    if (field == "id") return "ID";
    if (field == "room_id") return "Room id";
    if (field == "created_on") return "Created on";
    if (field == "created_at") return "Created at";
    if (field == "last_login") return "Last login";
    if (field == "password") return "Password";
    return capfirst(field);
}

std::string readonly_text(const ConsoleRow& row, std::string_view field) {
    if (field == "id") return std::to_string(row_id(row));
    return std::visit(
        [&](const auto& r) -> std::string {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, User>) {
                if (field == "last_login") return r.last_login ? show_time(*r.last_login) : "-";
                if (field == "password") {
                    // Django's summary: the algorithm and iterations, never the hash itself.
                    if (r.password.empty() || r.password[0] == '!') return "No password set.";
                    std::string_view p = r.password;
                    std::string_view algorithm = p.substr(0, p.find('$'));
                    std::string_view rest = p.substr(std::min(p.size(), algorithm.size() + 1));
                    return "algorithm: " + std::string(algorithm) + "  iterations: " + std::string(rest.substr(0, rest.find('$'))) +
                           "  salt: ****  hash: ****";
                }
            } else if constexpr (std::is_same_v<T, Meeting>) {
                if (field == "room_id") return r.room_id;
                if (field == "created_on") return show_time(r.created_on);
            } else if constexpr (std::is_same_v<T, Message>) {
                if (field == "timestamp") return show_time(r.timestamp);
            } else if constexpr (std::is_same_v<T, Signal> || std::is_same_v<T, Recording>) {
                if (field == "created_at") return show_time(r.created_at);
            }
            return "-";
        },
        row.record);
}

std::string admin_url(const ModelAdmin& m) {
    return "/admin/" + std::string(m.app_label) + "/" + std::string(m.model_name) + "/";
}

std::string admin_url(AdminModel model) { return admin_url(model_admin(model)); }

std::string change_url(AdminModel model, Id id) { return admin_url(model) + std::to_string(id) + "/change/"; }

}  // namespace castera::admin
