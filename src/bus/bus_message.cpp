#include "bus/bus_message.hpp"

#include <array>
#include <charconv>

namespace castera::bus {
namespace {

constexpr std::string_view kVersion = "C1";
constexpr std::string_view kRoomChannelPrefix = "castera:events:room:";
constexpr std::size_t kMaxHeader = 256;

// Reads a whole decimal number in [min, max]; nullopt for anything else (signs, spaces, excess).
std::optional<std::int64_t> read_number(std::string_view text, std::int64_t min, std::int64_t max) {
    std::int64_t value = 0;
    if (text.empty() || text.size() > 19) return std::nullopt;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) return std::nullopt;
    return value;
}

// Splits `text` at single spaces into exactly N fields; false when the count differs.
template <std::size_t N>
bool split_fields(std::string_view text, std::array<std::string_view, N>& fields) {
    for (std::size_t i = 0; i < N; ++i) {
        std::size_t space = text.find(' ');
        if (i + 1 == N) {
            if (space != std::string_view::npos) return false;
            fields[i] = text;
        } else {
            if (space == std::string_view::npos) return false;
            fields[i] = text.substr(0, space);
            text.remove_prefix(space + 1);
        }
    }
    return true;
}

bool valid_kind(char c) { return c == 'E' || c == 'M' || c == 'S' || c == 'C' || c == 'A'; }

// What each kind must carry, so that a receiver can act on a decoded message without checks.
bool consistent(const Message& m) {
    switch (m.kind) {
        // A presence event names its subject; any other event names nobody.
        case MessageKind::event:
            return (m.peer.empty() ? m.code == 0 : (m.code == 1 || m.code == 2)) &&
                   (!m.first.empty() || !m.second.empty());
        case MessageKind::moderators: return m.peer.empty() && m.code == 0 && (!m.first.empty() || !m.second.empty());
        case MessageKind::signal: return !m.peer.empty() && !m.second.empty();
        case MessageKind::action:
            return !m.peer.empty() && m.code >= 1 && m.code <= 5 && m.first.size() <= 64 && m.second.empty();
        // A WebSocket close reason fits in 123 bytes, and reserved codes are never sent.
        case MessageKind::close:
            return m.first.size() <= 123 && m.second.empty() &&
                   ((m.code >= 1000 && m.code <= 1003) || (m.code >= 1007 && m.code <= 1014) ||
                    (m.code >= 3000 && m.code <= 4999));
    }
    return false;
}

std::string header_of(const Message& m) {
    std::string header;
    header.reserve(96);
    header += kVersion;
    header += ' ';
    header += static_cast<char>(m.kind);
    header += ' ';
    header += m.origin;
    header += ' ';
    header += std::to_string(m.meeting);
    header += ' ';
    header += m.peer.empty() ? std::string_view("-") : m.peer;
    header += ' ';
    header += std::to_string(m.code);
    header += ' ';
    header += std::to_string(m.first.size());
    header += ' ';
    header += std::to_string(m.second.size());
    header += '\n';
    return header;
}

// "$<length>\r\n<text>\r\n", a RESP bulk string.
void append_bulk(std::string& out, std::string_view text) {
    out += '$';
    out += std::to_string(text.size());
    out += "\r\n";
    out += text;
    out += "\r\n";
}

}  // namespace

bool is_token(std::string_view text) {
    if (text.empty() || text.size() > 64) return false;
    for (char c : text) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string encode_message(const Message& m) {
    std::string out = header_of(m);
    out.reserve(out.size() + m.first.size() + m.second.size());
    out += m.first;
    out += m.second;
    return out;
}

std::optional<Message> decode_message(std::string_view payload) {
    std::size_t newline = payload.find('\n');
    if (newline == std::string_view::npos || newline > kMaxHeader) return std::nullopt;
    std::array<std::string_view, 8> f;
    if (!split_fields(payload.substr(0, newline), f)) return std::nullopt;
    if (f[0] != kVersion || f[1].size() != 1 || !valid_kind(f[1][0]) || !is_token(f[2])) return std::nullopt;
    auto meeting = read_number(f[3], 1, INT64_MAX);
    auto code = read_number(f[5], 0, 4999);
    auto first = read_number(f[6], 0, INT64_MAX);
    auto second = read_number(f[7], 0, INT64_MAX);
    if (!meeting || !code || !first || !second) return std::nullopt;
    if (f[4] != "-" && !is_token(f[4])) return std::nullopt;
    std::string_view bodies = payload.substr(newline + 1);
    if (static_cast<std::uint64_t>(*first) > bodies.size() ||
        static_cast<std::uint64_t>(*second) != bodies.size() - static_cast<std::uint64_t>(*first))
        return std::nullopt;
    Message m;
    m.kind = static_cast<MessageKind>(f[1][0]);
    m.origin = f[2];
    m.meeting = *meeting;
    m.peer = f[4] == "-" ? std::string_view{} : f[4];
    m.code = static_cast<std::uint16_t>(*code);
    m.first = bodies.substr(0, static_cast<std::size_t>(*first));
    m.second = bodies.substr(static_cast<std::size_t>(*first));
    if (!consistent(m)) return std::nullopt;
    return m;
}

std::string publish_command(std::string_view channel, const Message& m) {
    std::string header = header_of(m);
    std::size_t length = header.size() + m.first.size() + m.second.size();
    std::string out;
    out.reserve(48 + channel.size() + length);
    out += "*3\r\n";
    append_bulk(out, "PUBLISH");
    append_bulk(out, channel);
    out += '$';
    out += std::to_string(length);
    out += "\r\n";
    out += header;
    out += m.first;
    out += m.second;
    out += "\r\n";
    return out;
}

std::string encode_member(std::string_view owner, Id user, std::string_view email) {
    std::string out(owner);
    out += ' ';
    out += std::to_string(user);
    out += ' ';
    out += email;
    return out;
}

std::optional<MemberRecord> decode_member(std::string_view text) {
    std::size_t first = text.find(' ');
    if (first == std::string_view::npos) return std::nullopt;
    std::size_t second = text.find(' ', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    MemberRecord out;
    out.owner = text.substr(0, first);
    auto user = read_number(text.substr(first + 1, second - first - 1), 1, INT64_MAX);
    out.email = text.substr(second + 1);
    if (!is_token(out.owner) || !user || out.email.empty()) return std::nullopt;
    out.user = *user;
    return out;
}

std::string room_channel(Id meeting) { return std::string(kRoomChannelPrefix) + std::to_string(meeting); }

std::string instance_channel(std::string_view instance) {
    return std::string(kInstanceChannelPrefix) + std::string(instance);
}

Id meeting_of_channel(std::string_view channel) {
    if (!channel.starts_with(kRoomChannelPrefix)) return 0;
    return read_number(channel.substr(kRoomChannelPrefix.size()), 1, INT64_MAX).value_or(0);
}

std::string room_members_key(Id meeting) { return "castera:room:" + std::to_string(meeting) + ":members"; }

std::string room_lobby_key(Id meeting) { return "castera:room:" + std::to_string(meeting) + ":lobby"; }

std::string instance_members_key(std::string_view instance) {
    return "castera:instance:" + std::string(instance) + ":members";
}

std::string instance_alive_key(std::string_view instance) {
    return "castera:instance:" + std::string(instance) + ":alive";
}

}  // namespace castera::bus
