// castera's log: one line per record on standard error, with a level, the part of castera
// that speaks ("http", "bus", "store", ...), a message and optional key=value fields. Lines
// below CASTERA_LOG_LEVEL are not even formatted. Writing never blocks an event loop: a record
// is formatted on the caller's thread and handed to a writer thread; if standard error stops
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

// Waits until every record written so far is on standard error (at exit, and in tests).
void flush();

// Records dropped because standard error did not keep up.
std::uint64_t dropped();

// "debug", "info", "warning"/"warn", "error"; false for anything else.
bool parse_level(std::string_view text, Level& level);

}  // namespace castera::log
