#include "util/time.hpp"

#include <charconv>
#include <cstdio>

namespace castera {
namespace {

using namespace std::chrono;

// Reads exactly `width` decimal digits at `pos`, advancing it.
bool read_digits(std::string_view s, size_t& pos, int width, int& out) {
    if (pos + width > s.size()) return false;
    int value = 0;
    for (int i = 0; i < width; ++i) {
        char c = s[pos + i];
        if (c < '0' || c > '9') return false;
        value = value * 10 + (c - '0');
    }
    out = value;
    pos += width;
    return true;
}

bool read_char(std::string_view s, size_t& pos, char c) {
    if (pos < s.size() && s[pos] == c) {
        ++pos;
        return true;
    }
    return false;
}

// Reads ".ffffff" (1 to 6 digits; more digits are accepted and truncated, as Python does for
// up to 6 and DRF refuses beyond; we keep 6).
bool read_fraction(std::string_view s, size_t& pos, int& micros) {
    micros = 0;
    if (!read_char(s, pos, '.') && !read_char(s, pos, ',')) return true;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (digits < 6) micros = micros * 10 + (s[pos] - '0');
        ++digits;
        ++pos;
    }
    if (digits == 0 || digits > 6) return false;
    for (int i = digits; i < 6; ++i) micros *= 10;
    return true;
}

// Reads "Z", "+HH:MM", "+HHMM", "+HH" or nothing; offset in minutes east of UTC.
bool read_offset(std::string_view s, size_t& pos, int& offset_minutes) {
    offset_minutes = 0;
    if (pos == s.size()) return true;
    if (read_char(s, pos, 'Z') || read_char(s, pos, 'z')) return true;
    int sign = 0;
    if (read_char(s, pos, '+')) sign = 1;
    else if (read_char(s, pos, '-')) sign = -1;
    else return false;
    int hours = 0, minutes = 0;
    if (!read_digits(s, pos, 2, hours)) return false;
    if (pos < s.size()) {
        read_char(s, pos, ':');
        if (!read_digits(s, pos, 2, minutes)) return false;
    }
    if (hours > 23 || minutes > 59) return false;
    offset_minutes = sign * (hours * 60 + minutes);
    return true;
}

// Years 1 to 9999 in UTC, as Python's datetime: what the databases and the four-digit output
// format can hold.
constexpr TimePoint kEarliest = TimePoint{sys_days{year{1} / January / 1}};
constexpr TimePoint kLatest = TimePoint{sys_days{year{9999} / December / 31} + days{1} - microseconds{1}};

std::optional<TimePoint> make_time(int y, int mo, int d, int h, int mi, int sec, int micros,
                                   int offset_minutes, bool* out_of_range) {
    if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59) return std::nullopt;
    year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || y < 1) return std::nullopt;
    auto t = TimePoint{sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + microseconds{micros} -
                       minutes{offset_minutes}};
    // Well formed, but its offset takes it out of the years UTC can be written in.
    if (t < kEarliest || t > kLatest) {
        if (out_of_range) *out_of_range = true;
        return std::nullopt;
    }
    return t;
}

// The shared parser: date, separator ('T' or ' '), time, optional fraction and offset.
std::optional<TimePoint> parse(std::string_view s, bool allow_offset, bool allow_no_seconds, bool* out_of_range) {
    size_t pos = 0;
    int y, mo, d, h, mi, sec = 0, micros = 0, offset = 0;
    if (!read_digits(s, pos, 4, y) || !read_char(s, pos, '-') || !read_digits(s, pos, 2, mo) ||
        !read_char(s, pos, '-') || !read_digits(s, pos, 2, d))
        return std::nullopt;
    if (!read_char(s, pos, 'T') && !read_char(s, pos, 't') && !read_char(s, pos, ' '))
        return std::nullopt;
    if (!read_digits(s, pos, 2, h) || !read_char(s, pos, ':') || !read_digits(s, pos, 2, mi))
        return std::nullopt;
    if (read_char(s, pos, ':')) {
        if (!read_digits(s, pos, 2, sec) || !read_fraction(s, pos, micros)) return std::nullopt;
    } else if (!allow_no_seconds) {
        return std::nullopt;
    }
    if (!read_offset(s, pos, offset)) return std::nullopt;
    if (!allow_offset && offset != 0) return std::nullopt;
    if (pos != s.size()) return std::nullopt;
    return make_time(y, mo, d, h, mi, sec, micros, offset, out_of_range);
}

struct Parts {
    int y, mo, d, h, mi, s, us;
};

Parts split(TimePoint t) {
    auto day_point = floor<days>(t);
    year_month_day ymd{day_point};
    auto rest = t - day_point;
    auto h = duration_cast<hours>(rest);
    rest -= h;
    auto m = duration_cast<minutes>(rest);
    rest -= m;
    auto s = duration_cast<seconds>(rest);
    rest -= s;
    return {int(ymd.year()), int(unsigned(ymd.month())), int(unsigned(ymd.day())), int(h.count()),
            int(m.count()), int(s.count()), int(rest.count())};
}

}  // namespace

TimePoint now_utc() { return floor<microseconds>(system_clock::now()); }

namespace {

// Writes `value` as exactly `width` digits (zero-padded) and returns the end.
char* put_digits(char* at, int value, int width) {
    for (int i = width - 1; i >= 0; --i) {
        at[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    return at + width;
}

// "YYYY-MM-DD<sep>hh:mm:ss" into `buf`; returns the end. Formatting by hand: snprintf's parsing
// of its format string cost more than the rest of serialising a meeting.
char* put_date_time(char* buf, const Parts& p, char separator) {
    char* at = put_digits(buf, p.y, 4);
    *at++ = '-';
    at = put_digits(at, p.mo, 2);
    *at++ = '-';
    at = put_digits(at, p.d, 2);
    *at++ = separator;
    at = put_digits(at, p.h, 2);
    *at++ = ':';
    at = put_digits(at, p.mi, 2);
    *at++ = ':';
    return put_digits(at, p.s, 2);
}

}  // namespace

Iso8601Text iso8601_text(TimePoint t) {
    Parts p = split(t);
    Iso8601Text text;
    char* at = put_date_time(text.chars, p, 'T');
    if (p.us != 0) {
        *at++ = '.';
        at = put_digits(at, p.us, 6);
    }
    *at++ = 'Z';
    text.size = static_cast<std::size_t>(at - text.chars);
    return text;
}

std::string format_iso8601(TimePoint t) { return std::string(iso8601_text(t).view()); }

std::optional<TimePoint> parse_iso8601(std::string_view text, bool* out_of_range) {
    if (out_of_range) *out_of_range = false;
    return parse(text, /*allow_offset=*/true, /*allow_no_seconds=*/true, out_of_range);
}

std::string format_db(TimePoint t) {
    Parts p = split(t);
    char buf[40];
    char* at = put_date_time(buf, p, ' ');
    *at++ = '.';
    at = put_digits(at, p.us, 6);
    return std::string(buf, at);
}

std::optional<TimePoint> parse_db(std::string_view text) {
    return parse(text, /*allow_offset=*/true, /*allow_no_seconds=*/false, nullptr);
}

}  // namespace castera
