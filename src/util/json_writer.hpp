// Writes compact JSON straight into a string, the way DRF's JSONRenderer does: no spaces,
// non-ASCII kept as UTF-8, U+2028/U+2029 escaped. Much cheaper than building a DOM first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace castera {

class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : out_(out) {}

    void begin_object() { separate(); out_.push_back('{'); first_ = true; }
    void end_object() { out_.push_back('}'); first_ = false; }
    void begin_array() { separate(); out_.push_back('['); first_ = true; }
    void end_array() { out_.push_back(']'); first_ = false; }

    // Writes `"name":` and leaves the writer ready for the value. Names are the program's own
    // identifiers, which need no escaping.
    void key(std::string_view name) {
        separate();
        out_.push_back('"');
        out_.append(name);
        out_.push_back('"');
        out_.push_back(':');
        first_ = true;
    }

    // Writes a name that came from outside (a client's field name) escaped as any string is.
    void escaped_key(std::string_view name) {
        separate();
        write_string(name);
        out_.push_back(':');
        first_ = true;
    }

    void value(std::string_view s) { separate(); write_string(s); }
    void value(const char* s) { value(std::string_view(s)); }
    void value(const std::string& s) { value(std::string_view(s)); }
    void value(std::int64_t n) { separate(); write_integer(n); }
    void value(int n) { value(static_cast<std::int64_t>(n)); }
    void value(bool b) { separate(); out_ += b ? "true" : "false"; }
    void null() { separate(); out_ += "null"; }
    void value(const std::optional<std::string>& s) { if (s) value(std::string_view(*s)); else null(); }
    // Inserts already-serialised JSON as a value.
    void raw(std::string_view json) { separate(); out_ += json; }

    template <typename T>
    void field(std::string_view name, const T& v) { key(name); value(v); }

private:
    void separate() {
        if (!first_) out_.push_back(',');
        first_ = false;
    }
    void write_string(std::string_view s);
    void write_integer(std::int64_t n);

    std::string& out_;
    bool first_ = true;
};

// Appends `s` as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view s);

}  // namespace castera
