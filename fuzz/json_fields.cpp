// Fuzz target: the field validation every resource runs on a request body once it is one JSON
// object (http/body.cpp turns JSON, urlencoded and multipart bodies into that object). The
// first byte picks the resource's reader, the rest is the JSON text, parsed with the body
// parser's depth limit. Every reader must answer with values or DRF-style errors; the errors
// must serialise to JSON, and what a reader accepted must pass the checks it promises.
#include <boost/json/parse.hpp>

#include <array>
#include <cstdint>

#include "services/services.hpp"
#include "util/json_writer.hpp"
#include "util/validate.hpp"
#include "validation/fields.hpp"

namespace {

using namespace castera;
using validation::CharRule;
using validation::FieldErrors;
using validation::Mode;

// A broken promise of a validator: libFuzzer reports it as a crash.
void expect(bool holds) {
    if (!holds) __builtin_trap();
}

// An accepted text is valid UTF-8 within its length limit.
void check_text(const validation::FieldValue<std::string>& v, std::size_t max_length) {
    if (!v.ok || !v.present || v.null) return;
    expect(is_valid_utf8(v.value));
    if (max_length) expect(utf8_length(v.value) <= max_length);
}

void check_url(const validation::FieldValue<std::string>& v, std::size_t max_length) {
    check_text(v, max_length);
    if (v.ok && v.present && !v.null && !v.value.empty()) expect(is_valid_url(v.value));
}

// POST/PUT/PATCH /api/meetings/ and the admin console's meeting form.
void meeting(const boost::json::object& data, Mode mode, FieldErrors& errors) {
    MeetingChanges changes = services::read_meeting_changes(data, mode, errors);
    if (!errors.empty()) return;
    if (changes.title) expect(is_valid_utf8(*changes.title));
    if (changes.type_of) expect(*changes.type_of == "public" || *changes.type_of == "private");
    if (changes.status) expect(*changes.status == "active" || *changes.status == "ended");
}

// POST /api/auth/login/: the email trimmed, the password as sent.
void login(const boost::json::object& data, FieldErrors& errors) {
    check_text(validation::read_char(data, "email", CharRule{}, Mode::full, errors), 0);
    check_text(validation::read_char(data, "password", CharRule{.trim_whitespace = false}, Mode::full, errors), 0);
}

// POST /api/tokens/: a name of at most 100 characters and an optional expiry.
void token(const boost::json::object& data, FieldErrors& errors) {
    check_text(validation::read_char(data, "name", CharRule{.max_length = 100}, Mode::full, errors), 100);
    validation::read_datetime(data, "expires_at", false, Mode::partial, errors);
}

// The admin console's user form (admin/changeform.cpp).
void user_form(const boost::json::object& data, FieldErrors& errors) {
    auto email = validation::read_char(data, "email", CharRule{.max_length = 254}, Mode::full, errors);
    check_text(email, 254);
    if (email.ok && email.present) is_valid_email(email.value);
    check_text(validation::read_char(data, "full_name",
                                     CharRule{.required = false, .allow_blank = true, .max_length = 255}, Mode::full,
                                     errors),
               255);
    check_url(validation::read_url(data, "image", 200, errors), 200);
    constexpr std::array<std::string_view, 2> kRoles = {"user", "admin"};
    auto role = validation::read_choice(data, "role", kRoles, true, Mode::full, errors);
    if (role.ok && role.present && !role.null) expect(role.value == "user" || role.value == "admin");
}

// One resource's reader over `data`, chosen by `which`.
void validate(std::uint8_t which, const boost::json::object& data, FieldErrors& errors) {
    switch (which % 12) {
    case 0: return meeting(data, Mode::full, errors);
    case 1: return meeting(data, Mode::partial, errors);
    case 2: services::read_room_settings_changes(data, errors); return;
    case 3: check_text(validation::read_char(data, "content", CharRule{}, Mode::full, errors), 0); return;
    case 4: check_url(validation::read_url(data, "file_url", 200, errors), 200); return;
    case 5: return login(data, errors);
    case 6: return token(data, errors);
    case 7: expect(is_valid_utf8(services::read_message_fields(data, errors).content) || !errors.empty()); return;
    case 8: {
        auto signal = services::read_signal_fields(data, errors);
        if (errors.empty()) {
            boost::system::error_code ec;
            boost::json::parse(signal.data_json, ec);
            expect(!ec);  // "valid JSON", as SignalFields says
        }
        return;
    }
    case 9: services::read_recording_fields(data, errors); return;
    case 10: services::read_state_fields(data, errors); return;
    default: return user_form(data, errors);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    boost::json::parse_options options;
    options.max_depth = 64;
    boost::system::error_code ec;
    boost::json::value body = boost::json::parse(
        boost::json::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), ec, {}, options);
    if (ec || !body.is_object()) return 0;
    FieldErrors errors;
    validate(data[0], body.as_object(), errors);
    std::string out;
    JsonWriter writer(out);
    errors.write_json(writer);
    if (!errors.empty()) {
        boost::json::parse(out, ec);
        expect(!ec);
    }
    return 0;
}
