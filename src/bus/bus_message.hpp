// What instances exchange through Redis, and the records they keep there. Pure encoding, no
// I/O: every byte format is tested on its own (tests/unit/bus_message_test.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/models.hpp"

namespace castera::bus {

// What a message asks the instances that receive it to do.
enum class MessageKind : char {
    event = 'E',       // deliver to every member of the room
    moderators = 'M',  // deliver to the room's moderators only
    signal = 'S',      // deliver to one peer
    close = 'C',       // close the room's connections
    action = 'A',      // a moderator's action on a user's connections (RoomAction)
};

// What an event is about, in its `code`: receivers keep track of the room's remote peers.
enum class Presence : std::uint16_t { none = 0, joined = 1, left = 2 };

// One message on a channel. Decoding gives views into the received payload, so that each frame
// is copied once, into the buffer all local receivers share.
struct Message {
    MessageKind kind = MessageKind::event;
    std::string_view origin;  // the publishing instance, to drop its own echo
    Id meeting = 0;
    std::string_view peer;     // signal: the addressed peer; presence event: its subject;
                               // action: the user's id ("0": everyone waiting)
    std::uint16_t code = 0;    // close: the WebSocket close code; event: a Presence value;
                               // action: a RoomAction::Kind
    std::string_view first;    // event: the compatible frame ("" when none); close: the reason;
                               // action: the moderator's id, or (release) the token's hash
    std::string_view second;   // event, signal: the castera.v2 frame ("" when none)
};

// "C1 <kind> <origin> <meeting> <peer or -> <code> <first length> <second length>\n", then the
// two bodies, verbatim: frames are JSON text and are never escaped or parsed on the way.
std::string encode_message(const Message& message);
// The message in `payload` (views into it), or nullopt when anything is off: a malformed
// message is dropped, never trusted.
std::optional<Message> decode_message(std::string_view payload);

// PUBLISH channel message in Redis' wire format, for redisAsyncFormattedCommand: the message is
// written once, straight into the command.
std::string publish_command(std::string_view channel, const Message& message);

// A member as Redis keeps it: in the room's hash, "<instance> <user> <email>" under its peer id;
// in its instance's hash, "<meeting> <user> <email>". The email comes last and may hold anything.
struct MemberRecord {
    std::string_view owner;  // the instance, or the meeting's id
    Id user = 0;
    std::string_view email;
};
std::string encode_member(std::string_view owner, Id user, std::string_view email);
std::optional<MemberRecord> decode_member(std::string_view text);

// 1 to 64 of [A-Za-z0-9_-]: what instance and peer ids are made of.
bool is_token(std::string_view text);

// Names in Redis. Channels: one per room, one per instance (directed signals).
std::string room_channel(Id meeting);
std::string instance_channel(std::string_view instance);
// The meeting of a room channel; 0 for any other channel.
Id meeting_of_channel(std::string_view channel);
// Keys: the room's members (all instances), an instance's members, its liveness key, and the
// set of instances that registered.
std::string room_members_key(Id meeting);
// Those waiting in the room's lobby, kept as the room's members are.
std::string room_lobby_key(Id meeting);
std::string instance_members_key(std::string_view instance);
std::string instance_alive_key(std::string_view instance);
inline constexpr std::string_view kInstancesKey = "castera:instances";
inline constexpr std::string_view kInstanceChannelPrefix = "castera:events:instance:";

}  // namespace castera::bus
