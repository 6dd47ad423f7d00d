#include <gtest/gtest.h>

#include "util/time.hpp"

namespace castera {
namespace {

using namespace std::chrono;

TimePoint at(int y, unsigned mo, unsigned d, int h, int mi, int s, int us = 0) {
    return sys_days(year{y} / month{mo} / day{d}) + hours{h} + minutes{mi} + seconds{s} + microseconds{us};
}

TEST(Time, FormatsAsDrfWithZ) {
    EXPECT_EQ(format_iso8601(at(2026, 1, 2, 3, 4, 5)), "2026-01-02T03:04:05Z");
    EXPECT_EQ(format_iso8601(at(2026, 1, 2, 3, 4, 5, 123456)), "2026-01-02T03:04:05.123456Z");
    EXPECT_EQ(format_iso8601(at(2026, 1, 2, 3, 4, 5, 1)), "2026-01-02T03:04:05.000001Z");
    EXPECT_EQ(format_iso8601(at(1999, 12, 31, 23, 59, 59, 500000)), "1999-12-31T23:59:59.500000Z");
}

TEST(Time, InPlaceTextIsTheSameAsTheString) {
    for (TimePoint t : {at(2026, 1, 2, 3, 4, 5), at(2026, 1, 2, 3, 4, 5, 123456), at(9999, 12, 31, 23, 59, 59, 999999)})
        EXPECT_EQ(iso8601_text(t).view(), format_iso8601(t));
    EXPECT_EQ(iso8601_text(at(9999, 12, 31, 23, 59, 59, 999999)).size, 27u);
}

TEST(Time, ParsesOffsetsAndZ) {
    EXPECT_EQ(parse_iso8601("2026-01-02T03:04:05Z"), at(2026, 1, 2, 3, 4, 5));
    EXPECT_EQ(parse_iso8601("2026-01-02T03:04:05+02:00"), at(2026, 1, 2, 1, 4, 5));
    EXPECT_EQ(parse_iso8601("2026-01-02T03:04:05-0130"), at(2026, 1, 2, 4, 34, 5));
    EXPECT_EQ(parse_iso8601("2026-01-02 03:04"), at(2026, 1, 2, 3, 4, 0));
    EXPECT_EQ(parse_iso8601("2026-01-02T03:04:05.5Z"), at(2026, 1, 2, 3, 4, 5, 500000));
    EXPECT_EQ(parse_iso8601("2026-01-02T03:04:05.123456"), at(2026, 1, 2, 3, 4, 5, 123456));
}

TEST(Time, RefusesMalformedDatetimes) {
    const char* bad[] = {"", "2026-01-02", "tomorrow", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                         "2026-01-02T25:00:00Z", "2026-01-02T03:04:05+25:00", "2026-01-02T03:04:05Zjunk",
                         "2026-1-2T03:04:05Z", "20260102T030405Z", "2026-01-02T03:60:00Z"};
    for (const char* text : bad) EXPECT_FALSE(parse_iso8601(text).has_value()) << text;
}

// Python's datetime (and so DRF) holds years 1 to 9999; so do the databases and the output
// format. An offset that takes a time out of them in UTC is refused, and says so.
TEST(Time, RefusesTimesThatLeaveYearsOneTo9999InUtc) {
    for (const char* text : {"0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "9999-12-31T23:59:00-00:01"}) {
        bool out_of_range = false;
        EXPECT_FALSE(parse_iso8601(text, &out_of_range).has_value()) << text;
        EXPECT_TRUE(out_of_range) << text;
    }
    bool out_of_range = true;
    EXPECT_FALSE(parse_iso8601("2026-02-30T00:00:00Z", &out_of_range).has_value());
    EXPECT_FALSE(out_of_range) << "malformed, not out of range";
    EXPECT_EQ(parse_iso8601("0001-01-01T01:00:00+01:00", &out_of_range), at(1, 1, 1, 0, 0, 0));
    EXPECT_FALSE(out_of_range);
    EXPECT_EQ(parse_iso8601("9999-12-31T23:59:59.999999Z"), at(9999, 12, 31, 23, 59, 59, 999999));
    EXPECT_EQ(parse_iso8601("9999-12-31T23:59:59+01:00"), at(9999, 12, 31, 22, 59, 59));
}

TEST(Time, RoundTripsThroughTheDatabaseForm) {
    TimePoint t = at(2026, 11, 25, 9, 30, 0, 42);
    EXPECT_EQ(format_db(t), "2026-11-25 09:30:00.000042");
    EXPECT_EQ(parse_db(format_db(t)), t);
    EXPECT_EQ(parse_db("2026-11-25 09:30:00"), at(2026, 11, 25, 9, 30, 0));
    EXPECT_EQ(parse_db("2026-11-25T09:30:00.5+00:00"), at(2026, 11, 25, 9, 30, 0, 500000));
}

TEST(Time, NowHasMicrosecondsAndIsRecent) {
    TimePoint now = now_utc();
    EXPECT_GT(now, at(2024, 1, 1, 0, 0, 0));
}

}  // namespace
}  // namespace castera
