// Each domain type's JSON, written in one place with the old server's field order (SPEC §2).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"
#include "store/store.hpp"
#include "util/json_writer.hpp"

namespace castera::api {

void write_meeting(JsonWriter& w, const Meeting& m);
void write_message(JsonWriter& w, const Message& m);
// Its fields alone, for objects that carry more (the chat frame adds its type).
void write_message_fields(JsonWriter& w, const Message& m);
void write_recording(JsonWriter& w, const Recording& r);
void write_participant_state(JsonWriter& w, const ParticipantState& s);
void write_me(JsonWriter& w, const User& u);
// `"name":` and the time in ISO 8601, or null when there is none.
void write_time_or_null(JsonWriter& w, std::string_view name, const std::optional<TimePoint>& t);

// One object as a 200/201 response.
template <typename T>
http::Response object_response(unsigned status, const T& item, void (*write)(JsonWriter&, const T&)) {
    http::Response res;
    res.status = status;
    res.body.reserve(320);
    JsonWriter w(res.body);
    write(w, item);
    return res;
}

// DRF's LimitOffsetPagination request: set when the query has a valid ?limit=.
struct PageRequest {
    std::optional<std::int64_t> limit;
    std::int64_t offset = 0;
};
PageRequest page_request(const http::Request& req);

// A listing: a plain array, or DRF's {"count","next","previous","results"} when paginated.
template <typename T>
http::Response list_response(const http::Request& req, const PageRequest& page, const Page<T>& rows,
                             void (*write)(JsonWriter&, const T&));

// The absolute URL of `path` on this server, from the Host header (as DRF's reverse()).
std::string absolute_url(const http::Request& req, std::string_view path_and_query);

// Writes "count/next/previous" and opens "results"; the caller writes rows and closes.
void begin_paginated(JsonWriter& w, const http::Request& req, const PageRequest& page, std::int64_t count);

template <typename T>
http::Response list_response(const http::Request& req, const PageRequest& page, const Page<T>& rows,
                             void (*write)(JsonWriter&, const T&)) {
    http::Response res;
    res.body.reserve(64 + rows.rows.size() * 320);
    JsonWriter w(res.body);
    if (page.limit) begin_paginated(w, req, page, rows.total);
    w.begin_array();
    for (const T& row : rows.rows) write(w, row);
    w.end_array();
    if (page.limit) w.end_object();
    return res;
}

}  // namespace castera::api
