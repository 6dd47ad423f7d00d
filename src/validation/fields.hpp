// Field validation with DRF's rules and messages, so that old clients see the same errors:
// {"field": ["message", ...]} in the serializer's field order. Input arrives as one JSON
// object whatever the body was (JSON, a form, multipart), so the REST API and the admin
// console's forms share these readers.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/models.hpp"

namespace castera {

class JsonWriter;

namespace validation {

// Errors per field, in the order the fields were checked.
class FieldErrors {
public:
    void add(std::string_view field, std::string message);
    bool empty() const { return errors_.empty(); }
    // The messages for one field (empty when it has none).
    std::vector<std::string> messages(std::string_view field) const;
    const std::vector<std::pair<std::string, std::vector<std::string>>>& entries() const { return errors_; }
    // {"field": ["message", ...], ...}
    void write_json(JsonWriter& w) const;

private:
    std::vector<std::pair<std::string, std::vector<std::string>>> errors_;
};

// What a field read gave: absent (not sent), null, or a value. `ok` is false after an error.
template <typename T>
struct FieldValue {
    bool present = false;
    bool null = false;
    bool ok = true;
    T value{};
};

struct CharRule {
    bool required = true;
    bool allow_null = false;
    bool allow_blank = false;
    std::size_t max_length = 0;  // in characters; 0 = unlimited
    bool trim_whitespace = true;  // DRF's default; passwords keep theirs
};

// Whether missing required fields are errors (false for PATCH).
enum class Mode { full, partial };

// DRF CharField: strings (numbers are turned into strings), trimmed of surrounding white space.
FieldValue<std::string> read_char(const boost::json::object& data, std::string_view name,
                                  const CharRule& rule, Mode mode, FieldErrors& errors);
// DRF ChoiceField.
FieldValue<std::string> read_choice(const boost::json::object& data, std::string_view name,
                                    std::span<const std::string_view> choices, bool required, Mode mode,
                                    FieldErrors& errors);
// DRF DateTimeField (ISO 8601; naive times are UTC).
FieldValue<TimePoint> read_datetime(const boost::json::object& data, std::string_view name, bool required,
                                    Mode mode, FieldErrors& errors);
// DRF URLField (http and https only).
FieldValue<std::string> read_url(const boost::json::object& data, std::string_view name,
                                 std::size_t max_length, FieldErrors& errors);

// A value that serialises back to JSON: no number beyond a double's range (1e400 reads as
// infinity, which JSON cannot write).
bool is_finite_json(const boost::json::value& v);
// A value the databases can keep as JSON: finite, and no NUL character in a string or a key
// (PostgreSQL's jsonb refuses \u0000).
bool is_storable_json(const boost::json::value& v);

}  // namespace validation
}  // namespace castera
