// Datetimes as the API and the databases spell them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/models.hpp"

namespace castera {

TimePoint now_utc();

// "2026-01-02T03:04:05.123456Z", or "2026-01-02T03:04:05Z" when the microseconds are zero
// (DRF's output format).
std::string format_iso8601(TimePoint t);

// The same text held in place, for writers that copy it straight on (no allocation).
struct Iso8601Text {
    char chars[32];
    std::size_t size;
    std::string_view view() const { return {chars, size}; }
};
Iso8601Text iso8601_text(TimePoint t);

// Accepts what DRF accepts: YYYY-MM-DD[T ]hh:mm[:ss[.uuuuuu]][Z|+HH:MM|-HH:MM|+HHMM], a date
// alone is refused. Without an offset the time is taken as UTC. Returns nothing when malformed,
// or when its offset takes it out of the years 1 to 9999 in UTC (`out_of_range` then says so,
// as Python's datetime overflows there).
std::optional<TimePoint> parse_iso8601(std::string_view text, bool* out_of_range = nullptr);

// "2026-01-02 03:04:05.123456" (always six digits), the form Django writes to SQLite.
std::string format_db(TimePoint t);
// Reads format_db's form, with or without fraction, "T" or " ", optional "+00:00"/"Z".
std::optional<TimePoint> parse_db(std::string_view text);

}  // namespace castera
