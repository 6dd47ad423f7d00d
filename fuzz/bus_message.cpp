// Fuzz target: what arrives from Redis for the room bus (bus/bus_message.hpp): a message on a
// room's or an instance's channel, a member record read back from a hash, a channel's name.
// The input is tried as each. A message that decodes must survive being encoded and decoded
// again unchanged, and so must a member record: the bus relays what it decoded.
#include <cstdint>
#include <string_view>

#include "bus/bus_message.hpp"

namespace {

using namespace castera::bus;
using castera::Id;

// A broken promise of the codec: libFuzzer reports it as a crash.
void expect(bool holds) {
    if (!holds) __builtin_trap();
}

bool same(const Message& a, const Message& b) {
    return a.kind == b.kind && a.origin == b.origin && a.meeting == b.meeting && a.peer == b.peer &&
           a.code == b.code && a.first == b.first && a.second == b.second;
}

void message(std::string_view payload) {
    std::optional<Message> decoded = decode_message(payload);
    if (!decoded) return;
    std::string again = encode_message(*decoded);
    std::optional<Message> redecoded = decode_message(again);
    expect(redecoded && same(*decoded, *redecoded));
    publish_command(room_channel(decoded->meeting), *decoded);
}

void member(std::string_view text) {
    std::optional<MemberRecord> decoded = decode_member(text);
    if (!decoded) return;
    std::string again = encode_member(decoded->owner, decoded->user, decoded->email);
    std::optional<MemberRecord> redecoded = decode_member(again);
    expect(redecoded && redecoded->owner == decoded->owner && redecoded->user == decoded->user &&
           redecoded->email == decoded->email);
}

void channel(std::string_view name) {
    Id meeting = meeting_of_channel(name);
    if (meeting != 0) expect(meeting_of_channel(room_channel(meeting)) == meeting);
    if (is_token(name)) expect(instance_channel(name).starts_with(kInstanceChannelPrefix));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    message(text);
    member(text);
    channel(text);
    return 0;
}
