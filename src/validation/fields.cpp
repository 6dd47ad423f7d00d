#include "validation/fields.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>

#include "util/json_writer.hpp"
#include "util/time.hpp"
#include "util/validate.hpp"

namespace castera::validation {
namespace {

constexpr std::string_view kRequired = "This field is required.";
constexpr std::string_view kNull = "This field may not be null.";
constexpr std::string_view kBlank = "This field may not be blank.";
constexpr std::string_view kNotString = "Not a valid string.";
constexpr std::string_view kDatetimeFormat =
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].";

// DRF's DateTimeField when the time cannot be taken to UTC (Python's datetime overflows).
constexpr std::string_view kDatetimeRange = "Datetime value out of the range.";
// Python's str() of a float: shortest round-trip digits, always with a '.' or exponent.
std::string python_float(double d) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    std::string out(buf, end);
    if (out.find_first_of(".en") == std::string::npos) out += ".0";
    return out;
}

// Python's str() of a JSON scalar, as DRF shows a refused choice.
std::string python_str(const boost::json::value& v) {
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_bool()) return v.get_bool() ? "True" : "False";
    if (v.is_int64()) return std::to_string(v.get_int64());
    if (v.is_uint64()) return std::to_string(v.get_uint64());
    if (v.is_double()) return python_float(v.get_double());
    if (v.is_null()) return "None";
    return boost::json::serialize(v);
}

std::string_view trim(std::string_view s) {
    constexpr std::string_view space = " \t\r\n\f\v";
    std::size_t start = s.find_first_not_of(space);
    if (start == std::string_view::npos) return {};
    return s.substr(start, s.find_last_not_of(space) - start + 1);
}

// Finds the field; records "required" when it is missing and must be there.
const boost::json::value* find_field(const boost::json::object& data, std::string_view name, bool required,
                                     Mode mode, FieldErrors& errors, bool& ok) {
    const boost::json::value* v = data.if_contains(name);
    if (!v && required && mode == Mode::full) {
        errors.add(name, std::string(kRequired));
        ok = false;
    }
    return v;
}

}  // namespace

void FieldErrors::add(std::string_view field, std::string message) {
    for (auto& [name, messages] : errors_)
        if (name == field) {
            messages.push_back(std::move(message));
            return;
        }
    errors_.push_back({std::string(field), {std::move(message)}});
}

std::vector<std::string> FieldErrors::messages(std::string_view field) const {
    for (const auto& [name, messages] : errors_)
        if (name == field) return messages;
    return {};
}

void FieldErrors::write_json(JsonWriter& w) const {
    w.begin_object();
    for (const auto& [name, messages] : errors_) {
        // Escaped: an unknown field's error is named after what the client sent.
        w.escaped_key(name);
        w.begin_array();
        for (const auto& m : messages) w.value(m);
        w.end_array();
    }
    w.end_object();
}

FieldValue<std::string> read_char(const boost::json::object& data, std::string_view name, const CharRule& rule,
                                  Mode mode, FieldErrors& errors) {
    FieldValue<std::string> out;
    const boost::json::value* v = find_field(data, name, rule.required, mode, errors, out.ok);
    if (!v) return out;
    out.present = true;
    if (v->is_null()) {
        out.null = true;
        if (!rule.allow_null) {
            errors.add(name, std::string(kNull));
            out.ok = false;
        }
        return out;
    }
    if (v->is_string())
        out.value = rule.trim_whitespace ? std::string(trim(v->get_string())) : std::string(v->get_string());
    else if (v->is_int64() || v->is_uint64() || v->is_double()) out.value = python_str(*v);
    else {
        errors.add(name, std::string(kNotString));
        out.ok = false;
        return out;
    }
    if (!is_valid_utf8(out.value)) {
        errors.add(name, std::string(kNotString));
        out.ok = false;
    } else if (out.value.empty() && !rule.allow_blank) {
        errors.add(name, std::string(kBlank));
        out.ok = false;
    } else if (rule.max_length && utf8_length(out.value) > rule.max_length) {
        errors.add(name, "Ensure this field has no more than " + std::to_string(rule.max_length) + " characters.");
        out.ok = false;
    }
    return out;
}

FieldValue<std::string> read_choice(const boost::json::object& data, std::string_view name,
                                    std::span<const std::string_view> choices, bool required, Mode mode,
                                    FieldErrors& errors) {
    FieldValue<std::string> out;
    const boost::json::value* v = find_field(data, name, required, mode, errors, out.ok);
    if (!v) return out;
    out.present = true;
    if (v->is_null()) {
        out.null = true;
        errors.add(name, std::string(kNull));
        out.ok = false;
        return out;
    }
    std::string text = python_str(*v);
    for (std::string_view choice : choices)
        if (text == choice) {
            out.value = std::move(text);
            return out;
        }
    errors.add(name, "\"" + text + "\" is not a valid choice.");
    out.ok = false;
    return out;
}

FieldValue<TimePoint> read_datetime(const boost::json::object& data, std::string_view name, bool required,
                                    Mode mode, FieldErrors& errors) {
    FieldValue<TimePoint> out;
    const boost::json::value* v = find_field(data, name, required, mode, errors, out.ok);
    if (!v) return out;
    out.present = true;
    if (v->is_null()) {
        out.null = true;
        errors.add(name, std::string(kNull));
        out.ok = false;
        return out;
    }
    std::optional<TimePoint> parsed;
    bool out_of_range = false;
    if (v->is_string()) parsed = parse_iso8601(trim(v->get_string()), &out_of_range);
    if (!parsed) {
        errors.add(name, std::string(out_of_range ? kDatetimeRange : kDatetimeFormat));
        out.ok = false;
        return out;
    }
    out.value = *parsed;
    return out;
}

FieldValue<std::string> read_url(const boost::json::object& data, std::string_view name, std::size_t max_length,
                                 FieldErrors& errors) {
    CharRule rule;
    rule.max_length = max_length;
    FieldValue<std::string> out = read_char(data, name, rule, Mode::full, errors);
    if (out.ok && out.present && !out.null && !is_valid_url(out.value)) {
        errors.add(name, "Enter a valid URL.");
        out.ok = false;
    }
    return out;
}

}  // namespace castera::validation
