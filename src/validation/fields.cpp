#include "validation/fields.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>

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

// Python's str() of a float (its repr): the shortest digits that read back the same, written
// positionally while the decimal point falls from 4 places before the first digit to 16 after
// it ("0.0001", "1234567890123456.0", "100000.0"), in scientific notation beyond ("1e-05",
// "1e+16", "1.8446744073709552e+19"); "inf", "-inf", "nan" for the rest.
std::string python_float(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<std::size_t>(end - buf));  // "-1.8446744073709552e+19"
    std::size_t e = sci.find('e');
    std::string_view mantissa = sci.substr(0, e), exponent_text = sci.substr(e + 1);
    std::string out;
    if (mantissa.front() == '-') {
        out.push_back('-');
        mantissa.remove_prefix(1);
    }
    std::string digits;
    for (char c : mantissa)
        if (c != '.') digits.push_back(c);
    bool negative_exponent = exponent_text.front() == '-';
    exponent_text.remove_prefix(1);
    int magnitude = 0;
    (void)std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), magnitude);
    int exponent = negative_exponent ? -magnitude : magnitude;
    const int point = exponent + 1;  // digits before the decimal point
    const int count = static_cast<int>(digits.size());
    if (point > 16 || point < -3) {
        out.push_back(digits[0]);
        if (count > 1) out.append(".").append(digits, 1);
        out.append(negative_exponent ? "e-" : "e+");
        if (magnitude < 10) out.push_back('0');
        out.append(std::to_string(magnitude));
    } else if (point <= 0) {
        out.append("0.").append(static_cast<std::size_t>(-point), '0').append(digits);
    } else if (point >= count) {
        out.append(digits).append(static_cast<std::size_t>(point - count), '0').append(".0");
    } else {
        out.append(digits, 0, static_cast<std::size_t>(point)).append(".").append(digits, static_cast<std::size_t>(point));
    }
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

bool is_finite_json(const boost::json::value& v) {
    if (v.is_double()) return std::isfinite(v.get_double());
    if (v.is_array()) {
        for (const auto& item : v.get_array())
            if (!is_finite_json(item)) return false;
    } else if (v.is_object()) {
        for (const auto& [key, item] : v.get_object())
            if (!is_finite_json(item)) return false;
    }
    return true;
}

bool is_storable_json(const boost::json::value& v) {
    if (v.is_string()) return v.get_string().find('\0') == boost::json::string::npos;
    if (v.is_array()) {
        for (const auto& item : v.get_array())
            if (!is_storable_json(item)) return false;
        return true;
    }
    if (v.is_object()) {
        for (const auto& [key, item] : v.get_object())
            if (key.find('\0') != std::string_view::npos || !is_storable_json(item)) return false;
        return true;
    }
    return is_finite_json(v);
}

}  // namespace castera::validation
