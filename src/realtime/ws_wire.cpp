#include "realtime/ws_wire.hpp"

#include <cstring>

#include "util/validate.hpp"

namespace castera::realtime::wire {
namespace {

constexpr std::uint8_t kFin = 0x80;
constexpr std::uint8_t kReservedBits = 0x70;  // no extension is negotiated: always 0
constexpr std::uint8_t kMasked = 0x80;

bool is_control(std::uint8_t opcode) { return (opcode & 0x8) != 0; }

bool is_known(std::uint8_t opcode) {
    switch (static_cast<Opcode>(opcode)) {
    case Opcode::continuation:
    case Opcode::text:
    case Opcode::binary:
    case Opcode::close:
    case Opcode::ping:
    case Opcode::pong:
        return true;
    }
    return false;
}

// The codes a peer may send (RFC 6455 7.4 and the IANA registry; 3000-4999 for applications).
bool is_sendable_close_code(std::uint16_t code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

Input failure(std::uint16_t code) { return {Input::Kind::failed, {}, code}; }

void unmask(char* payload, std::size_t size, const std::uint8_t key[4]) {
    // Eight bytes at a time: a 64 KiB message is unmasked in a few microseconds.
    std::uint64_t wide;
    std::uint8_t pattern[8];
    for (int i = 0; i < 8; ++i) pattern[i] = key[i % 4];
    std::memcpy(&wide, pattern, 8);
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t chunk;
        std::memcpy(&chunk, payload + i, 8);
        chunk ^= wide;
        std::memcpy(payload + i, &chunk, 8);
    }
    for (; i < size; ++i) payload[i] = static_cast<char>(payload[i] ^ key[i % 4]);
}

}  // namespace

Header encode_header(Opcode opcode, std::size_t payload_size) {
    Header h;
    h.bytes[0] = static_cast<std::uint8_t>(kFin | static_cast<std::uint8_t>(opcode));
    h.size = header_size(payload_size);
    if (h.size == 2) {
        h.bytes[1] = static_cast<std::uint8_t>(payload_size);
    } else if (h.size == 4) {
        h.bytes[1] = 126;
        h.bytes[2] = static_cast<std::uint8_t>(payload_size >> 8);
        h.bytes[3] = static_cast<std::uint8_t>(payload_size);
    } else {
        h.bytes[1] = 127;
        for (int i = 0; i < 8; ++i) h.bytes[2 + i] = static_cast<std::uint8_t>(std::uint64_t(payload_size) >> (56 - 8 * i));
    }
    return h;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
    constexpr std::size_t kMaxReason = kMaxControlPayload - 2;
    if (reason.size() > kMaxReason) {
        std::size_t cut = kMaxReason;
        while (cut > 0 && (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
        reason = reason.substr(0, cut);
    }
    std::string out;
    out.reserve(2 + reason.size());
    out.push_back(static_cast<char>(code >> 8));
    out.push_back(static_cast<char>(code & 0xFF));
    out.append(reason);
    return out;
}

Input MessageReader::next(char* bytes, std::size_t size, std::size_t& used) {
    used = 0;
    if (handed_out_) {
        handed_out_ = false;
        fragments_.clear();
        if (fragments_.capacity() > 4096) fragments_.shrink_to_fit();
    }
    if (size < 2) return {};
    auto b0 = static_cast<std::uint8_t>(bytes[0]);
    auto b1 = static_cast<std::uint8_t>(bytes[1]);
    bool fin = (b0 & kFin) != 0;
    std::uint8_t opcode = b0 & 0x0F;
    if ((b0 & kReservedBits) != 0 || !is_known(opcode)) return failure(kCloseProtocolError);
    if ((b1 & kMasked) == 0) return failure(kCloseProtocolError);  // a client must mask
    std::uint64_t length = b1 & 0x7F;
    std::size_t at = 2;
    if (is_control(opcode) && (!fin || length > kMaxControlPayload)) return failure(kCloseProtocolError);
    if (length == 126) {
        if (size < at + 2) return {};
        length = (std::uint64_t(std::uint8_t(bytes[2])) << 8) | std::uint8_t(bytes[3]);
        if (length < 126) return failure(kCloseProtocolError);  // not the shortest form
        at += 2;
    } else if (length == 127) {
        if (size < at + 8) return {};
        length = 0;
        for (int i = 0; i < 8; ++i) length = (length << 8) | std::uint8_t(bytes[2 + i]);
        if (length <= 0xFFFF || (length >> 63) != 0) return failure(kCloseProtocolError);
        at += 8;
    }
    // Refused before its payload arrives.
    if (!is_control(opcode) && length + (in_message_ ? fragments_.size() : 0) > max_message_)
        return failure(kCloseTooBig);
    if (size < at + 4 || size - at - 4 < length) return {};
    std::uint8_t key[4];
    std::memcpy(key, bytes + at, 4);
    at += 4;
    char* payload = bytes + at;
    unmask(payload, length, key);
    used = at + length;
    std::string_view data(payload, length);

    if (is_control(opcode)) return control(opcode, data);
    if (opcode == std::uint8_t(Opcode::continuation)) {
        if (!in_message_) return failure(kCloseProtocolError);
        fragments_.append(data);
        if (!fin) return {};
        in_message_ = false;
        handed_out_ = true;
        return finish_message(message_is_text_, fragments_);
    }
    if (in_message_) return failure(kCloseProtocolError);  // a new message inside another
    bool text = opcode == std::uint8_t(Opcode::text);
    if (fin) return finish_message(text, data);
    in_message_ = true;
    message_is_text_ = text;
    fragments_.assign(data);
    return {};
}

Input MessageReader::finish_message(bool text, std::string_view payload) {
    if (text && !is_well_formed_utf8(payload)) return failure(kCloseInvalidPayload);
    return {text ? Input::Kind::text : Input::Kind::binary, payload, 0};
}

Input MessageReader::control(std::uint8_t opcode, std::string_view payload) {
    switch (static_cast<Opcode>(opcode)) {
    case Opcode::ping:
        return {Input::Kind::ping, payload, 0};
    case Opcode::pong:
        return {Input::Kind::pong, payload, 0};
    default:
        break;
    }
    // Close: nothing, or a code and a UTF-8 reason.
    if (payload.empty()) return {Input::Kind::close, {}, kCloseNoStatus};
    if (payload.size() == 1) return failure(kCloseProtocolError);
    auto code = static_cast<std::uint16_t>((std::uint8_t(payload[0]) << 8) | std::uint8_t(payload[1]));
    if (!is_sendable_close_code(code)) return failure(kCloseProtocolError);
    std::string_view reason = payload.substr(2);
    if (!is_well_formed_utf8(reason)) return failure(kCloseInvalidPayload);
    return {Input::Kind::close, reason, code};
}

}  // namespace castera::realtime::wire
