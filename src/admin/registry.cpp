#include "admin/registry.hpp"

#include <array>
#include <string>

namespace castera::admin {
namespace {

using W = Widget;
using M = AdminModel;

constexpr std::array<Choice, 2> kYesNo{{{"1", "Yes"}, {"0", "No"}}};
constexpr std::array<Choice, 2> kRoles{{{"user", "User"}, {"admin", "Admin"}}};
constexpr std::array<Choice, 2> kTypes{{{"public", "Public"}, {"private", "Private"}}};
constexpr std::array<Choice, 2> kStatuses{{{"active", "Active"}, {"ended", "Ended"}}};
constexpr std::array<Choice, 3> kSignalTypes{{{"offer", "Offer"}, {"answer", "Answer"}, {"ice", "ICE Candidate"}}};

// ---- users

constexpr std::array<Column, 6> kUserColumns{{
    {"email", "Email", "email"},
    {"full_name", "Full name", "full_name"},
    {"role", "Role", "role"},
    {"is_staff", "Staff", "is_staff"},
    {"is_superuser", "Superuser", "is_superuser"},
    {"is_active", "Active", "is_active"},
}};
constexpr std::array<ListFilter, 4> kUserFilters{{
    {"is_staff", "staff status", kYesNo},
    {"role", "role", kRoles},
    {"is_superuser", "superuser status", kYesNo},
    {"is_active", "active", kYesNo},
}};
constexpr std::array<FormField, 9> kUserAddFields{{
    {"email", "Email", W::email, true},
    {"full_name", "Full name", W::text},
    {"image", "Image", W::url, false, {}, M::user, {}, "A picture's http(s) URL."},
    {"role", "Role", W::select, true, kRoles, M::user, "user"},
    {"is_active", "Active", W::checkbox, false, {}, M::user, "1",
     "Unticked: the account cannot sign in (better than deleting it)."},
    {"is_staff", "Staff status", W::checkbox, false, {}, M::user, {}, "May sign in to this admin site."},
    {"is_superuser", "Superuser status", W::checkbox},
    {"password1", "Password", W::password, true},
    {"password2", "Password confirmation", W::password, true, {}, M::user, {}, "The same password, to check it."},
}};
constexpr std::array<FormField, 7> kUserChangeFields{{
    kUserAddFields[0], kUserAddFields[1], kUserAddFields[2], kUserAddFields[3],
    kUserAddFields[4], kUserAddFields[5], kUserAddFields[6],
}};
constexpr std::array<std::string_view, 3> kUserReadonly{{"id", "password", "last_login"}};

// ---- meetings

constexpr std::array<Column, 6> kMeetingColumns{{
    {"title", "Title", "title"},
    {"user", "User", "user__email"},
    {"type_of", "Type of", "type_of"},
    {"status", "Status", "status"},
    {"scheduled_date", "Scheduled date", "scheduled_date"},
    {"created_on", "Created on", "created_on"},
}};
constexpr std::array<ListFilter, 2> kMeetingFilters{{
    {"status", "status", kStatuses},
    {"type_of", "type of", kTypes},
}};
constexpr std::array<FormField, 6> kMeetingFields{{
    {"user", "User", W::foreign_key, true, {}, M::user, {}, "The owner's id."},
    {"title", "Title", W::text, true},
    {"description", "Description", W::textarea},
    {"type_of", "Type of", W::select, true, kTypes, M::user, "public"},
    {"scheduled_date", "Scheduled date", W::datetime, true, {}, M::user, {}, "UTC, as 2030-01-31 09:30:00."},
    {"status", "Status", W::select, true, kStatuses, M::user, "active"},
}};
constexpr std::array<std::string_view, 3> kMeetingReadonly{{"id", "room_id", "created_on"}};

// ---- messages, signals, recordings, participant states

constexpr std::array<Column, 5> kMessageColumns{{
    {"id", "ID", "id"},
    {"meeting", "Meeting", "meeting__title"},
    {"user", "User", "user__email"},
    {"content", "Content", "content"},
    {"timestamp", "Timestamp", "timestamp"},
}};
constexpr std::array<FormField, 3> kMessageFields{{
    {"meeting", "Meeting", W::foreign_key, true, {}, M::meeting, {}, "The meeting's id."},
    {"user", "User", W::foreign_key, true, {}, M::user, {}, "The author's id."},
    {"content", "Content", W::textarea, true},
}};
constexpr std::array<std::string_view, 2> kMessageReadonly{{"id", "timestamp"}};

constexpr std::array<Column, 5> kSignalColumns{{
    {"id", "ID", "id"},
    {"meeting", "Meeting", "meeting__title"},
    {"sender", "Sender", "sender__email"},
    {"signal_type", "Signal type", "signal_type"},
    {"created_at", "Created at", "created_at"},
}};
constexpr std::array<ListFilter, 1> kSignalFilters{{{"signal_type", "signal type", kSignalTypes}}};
constexpr std::array<FormField, 4> kSignalFields{{
    {"meeting", "Meeting", W::foreign_key, true, {}, M::meeting, {}, "The meeting's id."},
    {"sender", "Sender", W::foreign_key, true, {}, M::user, {}, "The sender's id."},
    {"signal_type", "Signal type", W::select, true, kSignalTypes, M::user, "offer"},
    {"data", "Data", W::json, true, {}, M::user, {}, "JSON."},
}};
constexpr std::array<std::string_view, 2> kSignalReadonly{{"id", "created_at"}};

constexpr std::array<Column, 5> kRecordingColumns{{
    {"id", "ID", "id"},
    {"meeting", "Meeting", "meeting__title"},
    {"uploaded_by", "Uploaded by", "uploaded_by__email"},
    {"file_url", "File url", "file_url"},
    {"created_at", "Created at", "created_at"},
}};
constexpr std::array<FormField, 3> kRecordingFields{{
    {"meeting", "Meeting", W::foreign_key, true, {}, M::meeting, {}, "The meeting's id."},
    {"uploaded_by", "Uploaded by", W::foreign_key, true, {}, M::user, {}, "The uploader's id."},
    {"file_url", "File url", W::url, true, {}, M::user, {}, "An http(s) URL."},
}};
constexpr std::array<std::string_view, 2> kRecordingReadonly{{"id", "created_at"}};

constexpr std::array<Column, 8> kStateColumns{{
    {"id", "ID", "id"},
    {"meeting", "Meeting", "meeting__title"},
    {"user", "User", "user__email"},
    {"audio_muted", "Audio muted", "audio_muted"},
    {"video_stopped", "Video stopped", "video_stopped"},
    {"in_call", "In call", "in_call"},
    {"raised_hand", "Raised hand", "raised_hand"},
    {"screen_sharing", "Screen sharing", "screen_sharing"},
}};
constexpr std::array<ListFilter, 3> kStateFilters{{
    {"in_call", "in call", kYesNo},
    {"audio_muted", "audio muted", kYesNo},
    {"raised_hand", "raised hand", kYesNo},
}};
constexpr std::array<FormField, 7> kStateFields{{
    {"meeting", "Meeting", W::foreign_key, true, {}, M::meeting, {}, "The meeting's id."},
    {"user", "User", W::foreign_key, true, {}, M::user, {}, "The participant's id."},
    {"audio_muted", "Audio muted", W::checkbox},
    {"video_stopped", "Video stopped", W::checkbox},
    {"in_call", "In call", W::checkbox, false, {}, M::user, "1"},
    {"raised_hand", "Raised hand", W::checkbox},
    {"screen_sharing", "Screen sharing", W::checkbox},
}};
constexpr std::array<std::string_view, 1> kStateReadonly{{"id"}};

// In AdminModel's order; Django's index lists apps, then models, alphabetically.
constexpr std::array<ModelAdmin, 6> kModels{{
    {M::user, "users", "Users", "user", "user", "users", kUserColumns, kUserFilters, "email or name", kUserAddFields,
     kUserChangeFields, kUserReadonly},
    {M::meeting, "meetings", "Meetings", "meeting", "meeting", "meetings", kMeetingColumns, kMeetingFilters,
     "title, owner's email or room id", kMeetingFields, kMeetingFields, kMeetingReadonly},
    {M::message, "meetings", "Meetings", "message", "message", "messages", kMessageColumns, {},
     "meeting title, author's email or content", kMessageFields, kMessageFields, kMessageReadonly},
    {M::signal, "meetings", "Meetings", "signal", "signal", "signals", kSignalColumns, kSignalFilters,
     "meeting title or sender's email", kSignalFields, kSignalFields, kSignalReadonly},
    {M::recording, "meetings", "Meetings", "recording", "recording", "recordings", kRecordingColumns, {},
     "meeting title or uploader's email", kRecordingFields, kRecordingFields, kRecordingReadonly},
    {M::participantstate, "meetings", "Meetings", "participantstate", "participant state", "participant states",
     kStateColumns, kStateFilters, "meeting title or participant's email", kStateFields, kStateFields,
     kStateReadonly},
}};

}  // namespace

std::span<const ModelAdmin> all_models() { return kModels; }

const ModelAdmin& model_admin(AdminModel model) { return kModels[static_cast<std::size_t>(model)]; }

const ModelAdmin* find_model(std::string_view app_label, std::string_view model_name) {
    for (const ModelAdmin& m : kModels)
        if (m.app_label == app_label && m.model_name == model_name) return &m;
    return nullptr;
}

std::string capfirst(std::string_view text) {
    std::string out(text);
    if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
    return out;
}

}  // namespace castera::admin
