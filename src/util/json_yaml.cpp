#include "util/json_yaml.hpp"

#include <boost/json/serialize.hpp>

namespace castera {
namespace {

namespace json = boost::json;

void indent(std::string& out, int depth) { out.append(static_cast<std::size_t>(depth) * 2, ' '); }

// A scalar, or an empty object or array, which block style cannot write: JSON's own text.
bool is_inline(const json::value& v) {
    if (v.is_object()) return v.get_object().empty();
    if (v.is_array()) return v.get_array().empty();
    return true;
}

void write_inline(std::string& out, const json::value& v) { out += json::serialize(v); }

void write_block(std::string& out, const json::value& v, int depth);

// After "key:" or "-": an inline value on the same line, a block on the next ones.
void write_member_value(std::string& out, const json::value& v, int depth) {
    if (is_inline(v)) {
        out += ' ';
        write_inline(out, v);
        out += '\n';
        return;
    }
    out += '\n';
    write_block(out, v, depth + 1);
}

void write_block(std::string& out, const json::value& v, int depth) {
    if (v.is_object()) {
        for (const auto& [key, member] : v.get_object()) {
            indent(out, depth);
            out += json::serialize(json::string_view(key));
            out += ':';
            write_member_value(out, member, depth);
        }
        return;
    }
    for (const json::value& item : v.get_array()) {
        indent(out, depth);
        out += '-';
        write_member_value(out, item, depth);
    }
}

}  // namespace

std::string json_to_yaml(const json::value& value) {
    std::string out;
    if (is_inline(value)) {
        write_inline(out, value);
        out += '\n';
    } else {
        write_block(out, value, 0);
    }
    return out;
}

}  // namespace castera
