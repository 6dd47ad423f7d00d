// WebSocket framing (RFC 6455), server side, without any I/O: the headers castera puts before
// its payloads, and a reader that takes client frames out of received bytes and puts messages
// together. ws_socket.cpp moves the bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace castera::realtime::wire {

enum class Opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

// The close codes the framing itself sends.
inline constexpr std::uint16_t kCloseNormal = 1000;
inline constexpr std::uint16_t kCloseProtocolError = 1002;
inline constexpr std::uint16_t kCloseNoStatus = 1005;  // received without a code; never sent
inline constexpr std::uint16_t kCloseInvalidPayload = 1007;
inline constexpr std::uint16_t kCloseTooBig = 1009;

// A control frame's payload is at most this long; a close reason 2 bytes less.
inline constexpr std::size_t kMaxControlPayload = 125;

// What a server puts before a payload: one final frame, never masked, 2 to 10 bytes.
struct Header {
    std::array<std::uint8_t, 10> bytes{};
    std::uint8_t size = 0;
};
Header encode_header(Opcode opcode, std::size_t payload_size);
// The size of that header.
inline std::uint8_t header_size(std::size_t payload_size) {
    return payload_size < 126 ? 2 : payload_size <= 0xFFFF ? 4 : 10;
}

// A close frame's payload: the code, then the reason cut to fit (at a character boundary).
std::string close_payload(std::uint16_t code, std::string_view reason);

// One step of reading: a message, a control frame, "need more bytes", or a failure with the
// close code to send.
struct Input {
    enum class Kind { need_more, text, binary, ping, pong, close, failed };
    Kind kind = Kind::need_more;
    std::string_view payload;     // message, ping/pong payload or close reason
    std::uint16_t close_code = 0; // close: the peer's (kCloseNoStatus when none); failed: ours
};

// Takes client frames out of received bytes, one per call. A message in one frame is handed
// out where it lies (unmasked in place); a fragmented one is put together here. Text must be
// UTF-8 and nothing may exceed `max_message` bytes; a payload's length is checked as soon as
// its header arrives, so that a client announcing a huge frame is refused before sending it.
class MessageReader {
public:
    explicit MessageReader(std::size_t max_message) : max_message_(max_message) {}

    // Reads the frame at the start of `bytes` if it is complete: `used` is then its size.
    // need_more with a non-zero `used` took a fragment of a message: call again after it.
    // A payload handed out stays valid until the next call and while `bytes` is untouched.
    Input next(char* bytes, std::size_t size, std::size_t& used);

private:
    Input finish_message(bool text, std::string_view payload);
    Input control(std::uint8_t opcode, std::string_view payload);

    std::size_t max_message_;
    std::string fragments_;       // a fragmented message so far
    bool in_message_ = false;     // fragments_ holds the start of a message
    bool message_is_text_ = false;
    bool handed_out_ = false;     // fragments_ was handed out whole: clear it next call
};

}  // namespace castera::realtime::wire
