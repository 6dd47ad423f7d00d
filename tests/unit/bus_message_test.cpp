#include <gtest/gtest.h>

#include "bus/bus_message.hpp"

namespace castera::bus {
namespace {

Message chat_message() {
    return Message{.kind = MessageKind::event,
                   .origin = "i_abc123",
                   .meeting = 42,
                   .first = R"({"message":"hi","sender":"a@x.com"})",
                   .second = R"({"type":"chat","content":"hi"})"};
}

TEST(BusMessage, AnEventSurvivesTheRoundTrip) {
    std::string encoded = encode_message(chat_message());
    EXPECT_TRUE(encoded.starts_with("C1 E i_abc123 42 - 0 "));
    auto decoded = decode_message(encoded);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->kind, MessageKind::event);
    EXPECT_EQ(decoded->origin, "i_abc123");
    EXPECT_EQ(decoded->meeting, 42);
    EXPECT_TRUE(decoded->peer.empty());
    EXPECT_EQ(decoded->first, chat_message().first);
    EXPECT_EQ(decoded->second, chat_message().second);
}

TEST(BusMessage, FramesTravelVerbatimWhateverTheyHold) {
    // Newlines, spaces and bytes that look like a header inside a frame are just bytes.
    Message m = chat_message();
    m.first = "";
    m.second = "{\"a\":\"x\\n C1 E y 1 - 0 0 0\n\"}";
    std::string text = encode_message(m);
    auto decoded = decode_message(text);
    ASSERT_TRUE(decoded);
    EXPECT_TRUE(decoded->first.empty());
    EXPECT_EQ(decoded->second, m.second);
}

TEST(BusMessage, SignalsNameTheirPeerAndClosesTheirCode) {
    Message signal{.kind = MessageKind::signal, .origin = "i_1", .meeting = 7, .peer = "p_Peer-1", .second = "{}"};
    std::string signal_text = encode_message(signal);  // decoding gives views into it
    auto s = decode_message(signal_text);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, MessageKind::signal);
    EXPECT_EQ(s->peer, "p_Peer-1");

    Message close{
        .kind = MessageKind::close, .origin = "i_1", .meeting = 7, .code = 4000, .first = "the meeting has ended"};
    std::string close_text = encode_message(close);
    auto c = decode_message(close_text);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->kind, MessageKind::close);
    EXPECT_EQ(c->code, 4000);
    EXPECT_EQ(c->first, "the meeting has ended");
}

TEST(BusMessage, PresenceEventsNameTheirSubject) {
    Message m = chat_message();
    m.peer = "p_who";
    m.code = static_cast<std::uint16_t>(Presence::left);
    std::string text = encode_message(m);
    auto decoded = decode_message(text);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->peer, "p_who");
    EXPECT_EQ(decoded->code, 2);
    m.code = 3;  // neither joined nor left
    EXPECT_FALSE(decode_message(encode_message(m)));
}

TEST(BusMessage, ModeratorEventsAndActionsSurviveTheRoundTrip) {
    Message mods{.kind = MessageKind::moderators, .origin = "i_1", .meeting = 7, .second = R"({"type":"lobby_request"})"};
    std::string mods_text = encode_message(mods);
    auto m = decode_message(mods_text);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->kind, MessageKind::moderators);
    EXPECT_EQ(m->second, R"({"type":"lobby_request"})");

    Message kick{.kind = MessageKind::action, .origin = "i_1", .meeting = 7, .peer = "42", .code = 1, .first = "3"};
    std::string kick_text = encode_message(kick);
    auto k = decode_message(kick_text);
    ASSERT_TRUE(k);
    EXPECT_EQ(k->kind, MessageKind::action);
    EXPECT_EQ(k->peer, "42");
    EXPECT_EQ(k->code, 1);
    EXPECT_EQ(k->first, "3");
    // An action names a user and a known kind, and carries no frame.
    Message bad = kick;
    bad.code = 9;
    EXPECT_FALSE(decode_message(encode_message(bad)));
    bad = kick;
    bad.second = "{}";
    EXPECT_FALSE(decode_message(encode_message(bad)));
    bad = kick;
    bad.peer = {};
    EXPECT_FALSE(decode_message(encode_message(bad)));
    EXPECT_EQ(room_lobby_key(7), "castera:room:7:lobby");
}

TEST(BusMessage, MalformedMessagesAreRefused) {
    std::string good = encode_message(chat_message());
    const std::string bad[] = {
        "",
        "hello",
        "C1 E i_abc 42 - 0 0 0",                        // no newline
        "C2 E i_abc 42 - 0 0 2\n{}",                    // another version
        "C1 X i_abc 42 - 0 0 2\n{}",                    // unknown kind
        "C1 E i_abc 42 - 0 0 3\n{}",                    // body shorter than announced
        "C1 E i_abc 42 - 0 0 1\n{}",                    // body longer than announced
        "C1 E i_abc 42 - 0 0 0\n",                      // an event with no frame
        "C1 E i_abc -42 - 0 0 2\n{}",                   // negative meeting
        "C1 E i_abc 0 - 0 0 2\n{}",                     // meeting 0
        "C1 E i_abc 4x - 0 0 2\n{}",                    // not a number
        "C1 E i_abc 42 - 0 0 99999999999999999999\n{}",  // overflow
        "C1 E i abc 42 - 0 0 2\n{}",                    // a space too many
        "C1  E i_abc 42 - 0 0 2\n{}",                   // an empty field
        "C1 E i/abc 42 - 0 0 2\n{}",                    // origin out of the alphabet
        "C1 S i_abc 42 - 0 0 2\n{}",                    // a signal to nobody
        "C1 S i_abc 42 p_x 0 0 0\n",                    // a signal without a frame
        "C1 C i_abc 42 - 1005 0 0\n",                   // a reserved close code
        "C1 C i_abc 42 - 999 0 0\n",                    // not a close code
        "C1 C i_abc 42 - 4000 0 2\n{}",                 // a close with a frame
        "C1 E i_abc 42 p_x 0 0 2\n{}",                  // a subject without a presence
        good.substr(0, good.size() - 1),                // truncated
        good + "x",                                     // trailing bytes
    };
    for (const auto& text : bad) EXPECT_FALSE(decode_message(text)) << text;
    std::string long_reason(124, 'r');
    Message close{.kind = MessageKind::close, .origin = "i_1", .meeting = 7, .code = 4000, .first = long_reason};
    EXPECT_FALSE(decode_message(encode_message(close)));
}

TEST(BusMessage, PublishCommandIsRedisWireFormat) {
    Message m{.kind = MessageKind::event, .origin = "i_1", .meeting = 9, .second = "{}"};
    std::string message = encode_message(m);
    std::string expected = "*3\r\n$7\r\nPUBLISH\r\n$21\r\ncastera:events:room:9\r\n$" + std::to_string(message.size()) +
                           "\r\n" + message + "\r\n";
    EXPECT_EQ(publish_command(room_channel(9), m), expected);
}

TEST(BusMessage, MemberRecords) {
    std::string text = encode_member("i_abc", 12, "Odd Name <a b@x.com>");
    EXPECT_EQ(text, "i_abc 12 Odd Name <a b@x.com>");
    auto record = decode_member(text);
    ASSERT_TRUE(record);
    EXPECT_EQ(record->owner, "i_abc");
    EXPECT_EQ(record->user, 12);
    EXPECT_EQ(record->email, "Odd Name <a b@x.com>");
    EXPECT_TRUE(decode_member("42 7 a@x.com"));  // an instance's record: the meeting first
    for (const char* bad :
         {"", "i_abc", "i_abc 12", "i_abc 12 ", "i_abc x a@x.com", "i_abc 0 a@x.com", "i/abc 1 a@x.com"})
        EXPECT_FALSE(decode_member(bad)) << bad;
}

TEST(BusMessage, NamesInRedis) {
    EXPECT_EQ(room_channel(5), "castera:events:room:5");
    EXPECT_EQ(meeting_of_channel("castera:events:room:5"), 5);
    EXPECT_EQ(meeting_of_channel("castera:events:room:"), 0);
    EXPECT_EQ(meeting_of_channel("castera:events:room:5x"), 0);
    EXPECT_EQ(meeting_of_channel(instance_channel("i_1")), 0);
    EXPECT_EQ(instance_channel("i_1"), "castera:events:instance:i_1");
    // The Lua scripts in redis_bus.cpp spell these out; they must not drift.
    EXPECT_EQ(room_members_key(5), "castera:room:5:members");
    EXPECT_EQ(instance_members_key("i_1"), "castera:instance:i_1:members");
    EXPECT_EQ(instance_alive_key("i_1"), "castera:instance:i_1:alive");
    EXPECT_EQ(kInstancesKey, "castera:instances");
}

TEST(BusMessage, Tokens) {
    EXPECT_TRUE(is_token("p_AbC-09"));
    EXPECT_FALSE(is_token(""));
    EXPECT_FALSE(is_token("p x"));
    EXPECT_FALSE(is_token("p\n"));
    EXPECT_FALSE(is_token(std::string(65, 'a')));
    EXPECT_TRUE(is_token(std::string(64, 'a')));
}

}  // namespace
}  // namespace castera::bus
