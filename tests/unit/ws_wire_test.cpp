#include "realtime/ws_wire.hpp"

#include <gtest/gtest.h>

#include <string>

#include "ws_test_client.hpp"

namespace castera::realtime::wire {
namespace {

using testing::encode;

using Kind = Input::Kind;

// Every input the reader gives for `bytes`, as a client would deliver them all at once.
struct Reading {
    std::vector<Input> inputs;
    std::vector<std::string> payloads;  // copied: the reader's views do not outlive a call
    std::size_t used = 0;
};

Reading read_all(MessageReader& reader, std::string& bytes) {
    Reading r;
    while (true) {
        std::size_t used = 0;
        Input in = reader.next(bytes.data() + r.used, bytes.size() - r.used, used);
        r.used += used;
        if (in.kind == Kind::need_more && used > 0) continue;
        r.inputs.push_back(in);
        r.payloads.emplace_back(in.payload);
        if (in.kind == Kind::need_more || in.kind == Kind::failed) return r;
    }
}

// The first input for `bytes`; its payload would point into them, gone on return: ask
// read_all for payloads.
Input read_one(std::string bytes, std::size_t max = 1 << 16) {
    MessageReader reader(max);
    Input in = read_all(reader, bytes).inputs.front();
    in.payload = {};
    return in;
}

TEST(WsWire, HeadersTakeTheShortestFormAndAreNeverMasked) {
    EXPECT_EQ(encode_header(Opcode::text, 0).size, 2);
    EXPECT_EQ(encode_header(Opcode::text, 125).size, 2);
    Header mid = encode_header(Opcode::text, 126);
    EXPECT_EQ(mid.size, 4);
    EXPECT_EQ(mid.bytes[1], 126);
    EXPECT_EQ(encode_header(Opcode::text, 0xFFFF).size, 4);
    Header big = encode_header(Opcode::binary, 0x10000);
    EXPECT_EQ(big.size, 10);
    EXPECT_EQ(big.bytes[1], 127);
    EXPECT_EQ(big.bytes[7], 1);  // 0x10000, big-endian
    Header close = encode_header(Opcode::close, 2);
    EXPECT_EQ(close.bytes[0], 0x88);
    EXPECT_EQ(close.bytes[1], 2);
}

TEST(WsWire, AMaskedTextFrameIsReadInPlace) {
    std::string bytes = encode({.payload = "{\"type\":\"ping\"}"});
    MessageReader reader(1024);
    std::size_t used = 0;
    Input in = reader.next(bytes.data(), bytes.size(), used);
    EXPECT_EQ(in.kind, Kind::text);
    EXPECT_EQ(in.payload, "{\"type\":\"ping\"}");
    EXPECT_EQ(used, bytes.size());
    EXPECT_GE(in.payload.data(), bytes.data());  // no copy
}

TEST(WsWire, EveryIncompletePrefixAsksForMore) {
    std::string whole = encode({.payload = std::string(300, 'x')});
    for (std::size_t n = 0; n < whole.size(); ++n) {
        std::string part = whole.substr(0, n);
        MessageReader reader(1024);
        std::size_t used = 1;
        Input in = reader.next(part.data(), part.size(), used);
        EXPECT_EQ(in.kind, Kind::need_more) << n;
        EXPECT_EQ(used, 0u) << n;
    }
}

TEST(WsWire, AFragmentedMessageIsPutTogetherAroundAPing) {
    std::string bytes = encode({.opcode = 0x1, .payload = "hel", .fin = false}) +
                        encode({.opcode = 0x9, .payload = "are you there"}) +
                        encode({.opcode = 0x0, .payload = "lo ", .fin = false}) +
                        encode({.opcode = 0x0, .payload = "world"});
    MessageReader reader(1024);
    Reading r = read_all(reader, bytes);
    ASSERT_EQ(r.inputs.size(), 3u);
    EXPECT_EQ(r.inputs[0].kind, Kind::ping);
    EXPECT_EQ(r.payloads[0], "are you there");
    EXPECT_EQ(r.inputs[1].kind, Kind::text);
    EXPECT_EQ(r.payloads[1], "hello world");
    EXPECT_EQ(r.inputs[2].kind, Kind::need_more);
    EXPECT_EQ(r.used, bytes.size());
}

TEST(WsWire, FramesThatBreakTheProtocolAreRefusedWith1002) {
    EXPECT_EQ(read_one(encode({.payload = "x", .masked = false})).close_code, kCloseProtocolError);
    EXPECT_EQ(read_one(encode({.payload = "x", .rsv = 0x40})).close_code, kCloseProtocolError);
    EXPECT_EQ(read_one(encode({.opcode = 0x3, .payload = "x"})).close_code, kCloseProtocolError);
    EXPECT_EQ(read_one(encode({.opcode = 0x9, .payload = std::string(126, 'p')})).close_code, kCloseProtocolError);
    EXPECT_EQ(read_one(encode({.opcode = 0x9, .payload = "p", .fin = false})).close_code, kCloseProtocolError);
    EXPECT_EQ(read_one(encode({.opcode = 0x0, .payload = "orphan"})).close_code, kCloseProtocolError);
    EXPECT_EQ(read_one(encode({.payload = "short", .length_bytes = 2})).close_code, kCloseProtocolError);
    EXPECT_EQ(read_one(encode({.payload = std::string(200, 'x'), .length_bytes = 8})).close_code, kCloseProtocolError);
    EXPECT_EQ(read_one(encode({.payload = "a", .fin = false}) + encode({.payload = "b"})).close_code,
              kCloseProtocolError);  // a new message inside another
    EXPECT_EQ(read_one(encode({.payload = "x", .masked = false})).kind, Kind::failed);
}

TEST(WsWire, ATooLargeFrameIsRefusedOnItsHeaderAlone) {
    std::string bytes = encode({.payload = std::string(2000, 'x')});
    bytes.resize(8);  // the header and the mask only
    Input in = read_one(bytes, 1000);
    EXPECT_EQ(in.kind, Kind::failed);
    EXPECT_EQ(in.close_code, kCloseTooBig);
    // Fragments count together.
    std::string pieces = encode({.payload = std::string(600, 'x'), .fin = false}) +
                         encode({.opcode = 0x0, .payload = std::string(600, 'x')});
    EXPECT_EQ(read_one(pieces, 1000).close_code, kCloseTooBig);
    EXPECT_EQ(read_one(encode({.payload = std::string(1000, 'x')}), 1000).kind, Kind::text);
}

TEST(WsWire, TextMustBeUtf8ButMayHoldNul) {
    EXPECT_EQ(read_one(encode({.payload = "caf\xC3"})).close_code, kCloseInvalidPayload);
    EXPECT_EQ(read_one(encode({.payload = "\xED\xA0\x80"})).close_code, kCloseInvalidPayload);  // a surrogate
    EXPECT_EQ(read_one(encode({.payload = "caf\xC3\xA9"})).kind, Kind::text);
    EXPECT_EQ(read_one(encode({.payload = std::string("a\0b", 3)})).kind, Kind::text);
    EXPECT_EQ(read_one(encode({.opcode = 0x2, .payload = "\xFF\xFE"})).kind, Kind::binary);
    // Split inside a character: checked once whole.
    std::string split = encode({.payload = "caf\xC3", .fin = false}) + encode({.opcode = 0x0, .payload = "\xA9"});
    EXPECT_EQ(read_one(split).kind, Kind::text);
}

TEST(WsWire, CloseFramesCarryAValidCodeAndAUtf8Reason) {
    Input none = read_one(encode({.opcode = 0x8}));
    EXPECT_EQ(none.kind, Kind::close);
    EXPECT_EQ(none.close_code, kCloseNoStatus);
    MessageReader reader(1 << 16);
    std::string bytes = encode({.opcode = 0x8, .payload = close_payload(1000, "bye")});
    Reading normal = read_all(reader, bytes);
    EXPECT_EQ(normal.inputs.front().kind, Kind::close);
    EXPECT_EQ(normal.inputs.front().close_code, 1000);
    EXPECT_EQ(normal.payloads.front(), "bye");
    EXPECT_EQ(read_one(encode({.opcode = 0x8, .payload = close_payload(4000, "")})).close_code, 4000);
    EXPECT_EQ(read_one(encode({.opcode = 0x8, .payload = "x"})).close_code, kCloseProtocolError);
    EXPECT_EQ(read_one(encode({.opcode = 0x8, .payload = close_payload(1005, "")})).close_code, kCloseProtocolError);
    EXPECT_EQ(read_one(encode({.opcode = 0x8, .payload = close_payload(999, "")})).close_code, kCloseProtocolError);
    EXPECT_EQ(read_one(encode({.opcode = 0x8, .payload = close_payload(1000, "\xC3")})).close_code,
              kCloseInvalidPayload);
}

TEST(WsWire, ACloseReasonIsCutToFitAtACharacterBoundary) {
    std::string reason;
    for (int i = 0; i < 100; ++i) reason += "\xC3\xA9";  // 200 bytes of two-byte characters
    std::string payload = close_payload(1008, reason);
    EXPECT_LE(payload.size(), kMaxControlPayload);
    EXPECT_EQ(payload.size() % 2, 0u);  // code + whole characters
    EXPECT_EQ(static_cast<unsigned char>(payload[0]), 1008 >> 8);
    EXPECT_EQ(static_cast<unsigned char>(payload[1]), 1008 & 0xFF);
}

}  // namespace
}  // namespace castera::realtime::wire
