// The client side of a WebSocket for the framing tests: frames masked as a browser masks them,
// and server frames read back from a blocking socket.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

namespace castera::testing {

struct ClientFrame {
    std::uint8_t opcode = 0x1;
    std::string payload;
    bool fin = true;
    bool masked = true;
    std::uint8_t rsv = 0;   // the three reserved bits, as they sit in the first byte
    int length_bytes = 0;   // 0: the shortest form; 2 or 8 to force a longer one
};

// A frame as a browser sends it: masked with a fixed key.
inline std::string encode(const ClientFrame& f) {
    std::string out;
    out.push_back(static_cast<char>((f.fin ? 0x80 : 0) | f.rsv | f.opcode));
    std::uint8_t mask_bit = f.masked ? 0x80 : 0;
    std::size_t n = f.payload.size();
    int length_bytes = f.length_bytes ? f.length_bytes : n < 126 ? 0 : n <= 0xFFFF ? 2 : 8;
    if (length_bytes == 0) {
        out.push_back(static_cast<char>(mask_bit | n));
    } else if (length_bytes == 2) {
        out.push_back(static_cast<char>(mask_bit | 126));
        out.push_back(static_cast<char>(n >> 8));
        out.push_back(static_cast<char>(n));
    } else {
        out.push_back(static_cast<char>(mask_bit | 127));
        for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(std::uint64_t(n) >> (8 * i)));
    }
    const std::uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    if (f.masked) out.append(reinterpret_cast<const char*>(key), 4);
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(static_cast<char>(f.payload[i] ^ (f.masked ? key[i % 4] : 0)));
    return out;
}

struct ServerFrame {
    std::uint8_t opcode = 0;
    std::string payload;
};

// Reads server frames from a connected descriptor (with a receive timeout set on it).
class FrameReader {
public:
    explicit FrameReader(int fd) : fd_(fd) {}

    // The next frame; nullopt at the end of the stream or on a timeout.
    std::optional<ServerFrame> next() {
        if (!need(2)) return std::nullopt;
        auto b0 = static_cast<std::uint8_t>(buffer_[0]);
        auto b1 = static_cast<std::uint8_t>(buffer_[1]);
        std::uint64_t n = b1 & 0x7F;
        std::size_t at = 2;
        if (n == 126 || n == 127) {
            std::size_t extra = n == 126 ? 2 : 8;
            if (!need(2 + extra)) return std::nullopt;
            n = 0;
            for (std::size_t i = 0; i < extra; ++i) n = (n << 8) | static_cast<std::uint8_t>(buffer_[2 + i]);
            at += extra;
        }
        if (!need(at + n)) return std::nullopt;
        ServerFrame frame{static_cast<std::uint8_t>(b0 & 0x0F), buffer_.substr(at, n)};
        buffer_.erase(0, at + n);
        return frame;
    }

    // True when the peer closed the stream (after any bytes still unread).
    bool at_end() {
        char c;
        return buffer_.empty() && ::recv(fd_, &c, 1, 0) == 0;
    }

private:
    bool need(std::size_t n) {
        while (buffer_.size() < n) {
            char chunk[65536];
            ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
            if (got <= 0) return false;
            buffer_.append(chunk, static_cast<std::size_t>(got));
        }
        return true;
    }

    int fd_;
    std::string buffer_;
};

}  // namespace castera::testing
