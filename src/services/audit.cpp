#include "services/audit.hpp"

#include <cstdio>

#include "util/validate.hpp"

namespace castera::services {
namespace {

// Django keeps at most 200 characters of the repr (object_repr is a varchar(200)).
std::string truncated(std::string repr) {
    if (utf8_length(repr) <= 200) return repr;
    std::size_t chars = 0, i = 0;
    for (; i < repr.size() && chars < 200; ++i)
        if ((static_cast<unsigned char>(repr[i]) & 0xC0) != 0x80) ++chars;
    while (i < repr.size() && (static_cast<unsigned char>(repr[i]) & 0xC0) == 0x80) ++i;
    repr.resize(i);
    return repr;
}

void add_entry(Transaction& transaction, const Actor& actor, AdminModel model, std::string object_id,
               std::string repr, int flag, std::string message, std::optional<std::size_t> subject = {},
               bool repr_names_id = false) {
    AdminLogEntry entry;
    entry.user_id = actor.id();
    entry.object_id = std::move(object_id);
    entry.object_repr = truncated(std::move(repr));
    entry.action_flag = flag;
    entry.change_message = std::move(message);
    transaction.add(write::LogAdminAction{model, std::move(entry), subject, repr_names_id});
}

// JSON string contents as Python's json.dumps writes them (ASCII only, \uXXXX beyond).
void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
        else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else out += static_cast<char>(c);
    }
    out += '"';
}

}  // namespace

std::string field_label(std::string_view field) {
    if (field == "is_superuser") return "Superuser status";
    std::string label(field);
    for (char& c : label)
        if (c == '_') c = ' ';
    if (!label.empty() && label[0] >= 'a' && label[0] <= 'z') label[0] = static_cast<char>(label[0] - 'a' + 'A');
    return label;
}

std::string change_message(const std::vector<std::string>& labels) {
    if (labels.empty()) return "[]";
    std::string out = "[{\"changed\": {\"fields\": [";
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (i) out += ", ";
        append_json_string(out, labels[i]);
    }
    return out + "]}}]";
}

std::string default_repr(std::string_view class_name, Id id) {
    return std::string(class_name) + " object (" + std::to_string(id) + ")";
}

void audit_added(Transaction& transaction, const Actor& actor, AdminModel model, Transaction::Ref created,
                 std::string repr, bool repr_names_id) {
    if (!actor.in_console()) return;
    add_entry(transaction, actor, model, {}, std::move(repr), AdminLogEntry::addition, "[{\"added\": {}}]",
              created.index, repr_names_id);
}

void audit_changed(Transaction& transaction, const Actor& actor, AdminModel model, Id id, std::string repr,
                   const std::vector<std::string>& labels) {
    audit_changed(transaction, actor, model, id, std::move(repr), change_message(labels));
}

void audit_changed(Transaction& transaction, const Actor& actor, AdminModel model, Id id, std::string repr,
                   std::string message) {
    if (!actor.in_console()) return;
    add_entry(transaction, actor, model, std::to_string(id), std::move(repr), AdminLogEntry::change,
              std::move(message));
}

void audit_deleted(Transaction& transaction, const Actor& actor, AdminModel model, Id id, std::string repr) {
    if (!actor.in_console()) return;
    add_entry(transaction, actor, model, std::to_string(id), std::move(repr), AdminLogEntry::deletion, "");
}

}  // namespace castera::services
