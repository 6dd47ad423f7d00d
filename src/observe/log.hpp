// castera's log: one line per record on standard error, with a level, the part of castera
// that speaks ("http", "bus", "store", ...), a message and optional key=value fields. Lines
// below CASTERA_LOG_LEVEL are not even formatted. Writing never blocks an event loop: a record
// is formatted on the caller's thread into a buffer of that thread's own, which a writer
// thread collects in batches (one wake-up per batch, not per line); if standard error stops
// draining (a stuck pipe), records beyond a bounded backlog are dropped and counted.
//
// Never pass passwords, tokens, cookies or message contents to the log.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace castera::log {

enum class Level { debug, info, warning, error };
enum class Format { text, json };

// One key=value pair of a record.
struct Field {
    std::string_view key;
    std::string value;

    Field(std::string_view k, std::string_view v) : key(k), value(v) {}
    Field(std::string_view k, const std::string& v) : key(k), value(v) {}
    Field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
    Field(std::string_view k, std::int64_t v) : key(k), value(std::to_string(v)), number(true) {}
    Field(std::string_view k, int v) : Field(k, static_cast<std::int64_t>(v)) {}
    Field(std::string_view k, unsigned v) : Field(k, static_cast<std::int64_t>(v)) {}
    Field(std::string_view k, std::uint64_t v) : key(k), value(std::to_string(v)), number(true) {}
    Field(std::string_view k, double v);

    bool number = false;  // written unquoted in JSON
};

// Set once at start-up (from CASTERA_LOG_LEVEL and CASTERA_LOG_FORMAT).
void configure(Level level, Format format);
bool enabled(Level level);

void write(Level level, std::string_view component, std::string_view message, std::initializer_list<Field> fields = {});

inline void debug(std::string_view component, std::string_view message, std::initializer_list<Field> fields = {}) {
    if (enabled(Level::debug)) write(Level::debug, component, message, fields);
}
inline void info(std::string_view component, std::string_view message, std::initializer_list<Field> fields = {}) {
    if (enabled(Level::info)) write(Level::info, component, message, fields);
}
inline void warning(std::string_view component, std::string_view message, std::initializer_list<Field> fields = {}) {
    if (enabled(Level::warning)) write(Level::warning, component, message, fields);
}
inline void error(std::string_view component, std::string_view message, std::initializer_list<Field> fields = {}) {
    if (enabled(Level::error)) write(Level::error, component, message, fields);
}

// One request or WebSocket session, for the access log. Never the query (it may hold an
// access_token), headers, cookies or bodies.
struct Access {
    std::string_view kind = "request";  // "request", or "websocket" for a session (at its end)
    std::string_view method;
    std::string_view route;  // the route's template ("/api/meetings/{id}/"), or "unmatched"
    std::string_view path;
    unsigned status = 0;
    std::int64_t duration_us = 0;  // a session's whole length for a WebSocket
    std::uint64_t bytes = 0;       // the body sent; a session's bytes sent
    std::uint64_t bytes_in = 0;    // a session's bytes received (0 for a request)
    std::int64_t user = 0;         // 0: nobody signed in
    std::string_view remote;
    std::string_view request_id;
};

// The access log: on by default (CASTERA_ACCESS_LOG), at level info.
void configure_access(bool on);
bool access_enabled();
// One line (text or JSON as configured), written like every other record.
void access(const Access& a);

// Waits until every record written so far is on standard error (at exit, and in tests).
void flush();

// Records dropped because standard error did not keep up.
std::uint64_t dropped();

// "debug", "info", "warning"/"warn", "error"; false for anything else.
bool parse_level(std::string_view text, Level& level);

}  // namespace castera::log
