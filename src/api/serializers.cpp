#include "api/serializers.hpp"

#include <charconv>
#include <map>

#include "util/time.hpp"

namespace castera::api {

void write_meeting(JsonWriter& w, const Meeting& m) {
    w.begin_object();
    w.field("id", m.id);
    w.field("title", m.title);
    w.field("description", m.description);
    w.field("type_of", m.type_of);
    w.field("created_on", iso8601_text(m.created_on).view());
    w.field("room_id", m.room_id);
    w.field("scheduled_date", iso8601_text(m.scheduled_date).view());
    w.field("status", m.status);
    w.field("user", m.user_id);
    w.end_object();
}

void write_message_fields(JsonWriter& w, const Message& m) {
    w.field("id", m.id);
    w.field("meeting", m.meeting_id);
    w.field("user", m.user_id);
    w.field("user_email", m.user_email);
    w.field("content", m.content);
    w.field("timestamp", iso8601_text(m.timestamp).view());
}

void write_message(JsonWriter& w, const Message& m) {
    w.begin_object();
    write_message_fields(w, m);
    w.end_object();
}

void write_recording(JsonWriter& w, const Recording& r) {
    w.begin_object();
    w.field("id", r.id);
    w.field("meeting", r.meeting_id);
    w.field("uploaded_by", r.uploaded_by);
    w.field("uploaded_by_email", r.uploaded_by_email);
    w.field("file_url", r.file_url);
    w.field("created_at", iso8601_text(r.created_at).view());
    w.end_object();
}

void write_participant_state(JsonWriter& w, const ParticipantState& s) {
    w.begin_object();
    w.field("id", s.id);
    w.field("meeting", s.meeting_id);
    w.field("user", s.user_id);
    w.field("user_email", s.user_email);
    w.field("audio_muted", s.audio_muted);
    w.field("video_stopped", s.video_stopped);
    w.field("in_call", s.in_call);
    w.field("raised_hand", s.raised_hand);
    w.field("screen_sharing", s.screen_sharing);
    w.end_object();
}

void write_me(JsonWriter& w, const User& u) {
    w.begin_object();
    w.field("id", u.id);
    w.field("email", u.email);
    w.field("full_name", u.full_name);
    w.field("image", u.image);
    w.field("role", u.role);
    w.field("is_staff", u.is_staff);
    w.field("is_superuser", u.is_superuser);
    w.end_object();
}

void write_time_or_null(JsonWriter& w, std::string_view name, const std::optional<TimePoint>& t) {
    w.key(name);
    if (t) w.value(iso8601_text(*t).view());
    else w.null();
}

namespace {

// A non-negative integer query parameter, as DRF's _positive_int (invalid gives nothing).
std::optional<std::int64_t> positive_int_param(const http::Request& req, std::string_view name, bool strict) {
    std::string text;
    if (!http::query_param(req.query, name, text)) return std::nullopt;
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 0 || (strict && value == 0))
        return std::nullopt;
    return value;
}

// The current URL with limit/offset replaced (or offset removed), keys sorted as DRF does.
std::string page_url(const http::Request& req, std::int64_t limit, std::optional<std::int64_t> offset) {
    std::vector<std::pair<std::string, std::string>> pairs;
    http::parse_urlencoded(req.query, pairs);
    std::map<std::string, std::string> params(pairs.begin(), pairs.end());
    params["limit"] = std::to_string(limit);
    if (offset) params["offset"] = std::to_string(*offset);
    else params.erase("offset");
    std::string query;
    for (const auto& [key, value] : params) {
        if (!query.empty()) query += '&';
        query += key + "=" + value;
    }
    return absolute_url(req, std::string(req.path) + "?" + query);
}

}  // namespace

PageRequest page_request(const http::Request& req) {
    PageRequest page;
    if (req.query.empty()) return page;
    page.limit = positive_int_param(req, "limit", true);
    if (page.limit) page.offset = positive_int_param(req, "offset", false).value_or(0);
    return page;
}

std::string absolute_url(const http::Request& req, std::string_view path_and_query) {
    std::string_view host = req.header("Host");
    std::string out = "http://";
    out += host.empty() ? std::string_view("localhost") : host;
    out += path_and_query;
    return out;
}

void begin_paginated(JsonWriter& w, const http::Request& req, const PageRequest& page, std::int64_t count) {
    std::int64_t limit = *page.limit;
    w.begin_object();
    w.field("count", count);
    w.key("next");
    if (page.offset + limit < count) w.value(page_url(req, limit, page.offset + limit));
    else w.null();
    w.key("previous");
    if (page.offset <= 0) w.null();
    else if (page.offset - limit <= 0) w.value(page_url(req, limit, std::nullopt));
    else w.value(page_url(req, limit, page.offset - limit));
    w.key("results");
}

}  // namespace castera::api
