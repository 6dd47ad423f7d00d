#include "bus/redis_bus.hpp"

#include <hiredis/hiredis.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <charconv>
#include <iterator>
#include <functional>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "bus/bus_message.hpp"
#include "bus/redis_link.hpp"
#include "observe/log.hpp"
#include "realtime/frames.hpp"
#include "util/async_reply.hpp"
#include "util/random.hpp"

namespace castera::bus {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr milliseconds kConnectTimeout{5000};  // resolve, connect, AUTH and registration
constexpr milliseconds kFirstBackoff{100};
constexpr milliseconds kMaxBackoff{5000};
constexpr milliseconds kSweepPeriod{2000};  // how often dead instances are looked for
constexpr milliseconds kStopTimeout{2000};  // the goodbye at shutdown
constexpr std::chrono::seconds kLogEvery{30};  // repeated failures are logged this often
constexpr std::size_t kMaxUnsentBytes = 64 << 20;  // publishes piled up while Redis is slow
constexpr std::chrono::seconds kRecentWindow{10};  // presence events outweigh snapshots this long

// Relays a directed signal in one round trip: the room's hash names the instance that holds
// the peer, and the message goes to that instance's channel only. Returns how many received it.
constexpr std::string_view kRelayScript = R"lua(
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry then return 0 end
local owner = string.match(entry, '^(%S+) ')
if not owner then return 0 end
return redis.call('PUBLISH', ARGV[2] .. owner, ARGV[3])
)lua";

// Refreshes this instance's liveness key; returns 1 when the instance was no longer listed
// (another instance took it for dead), which means it must register again.
constexpr std::string_view kBeatScript = R"lua(
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
return redis.call('SADD', 'castera:instances', ARGV[2])
)lua";

// Takes instances and their members off every list, atomically, so that exactly one surviving
// instance claims (and announces) each dead one. ARGV[1] is the caller; ARGV[2] is 'dead'
// (every other instance whose liveness key expired) or 'self' (the caller, stopping).
// Returns the members removed, as pairs of peer id and "<meeting> <user> <email>".
constexpr std::string_view kReapScript = R"lua(
local out = {}
local function reap(id)
  redis.call('SREM', 'castera:instances', id)
  local registry = 'castera:instance:' .. id .. ':members'
  local members = redis.call('HGETALL', registry)
  for i = 1, #members, 2 do
    local meeting = string.match(members[i + 1], '^(%d+) ')
    if meeting then
      redis.call('HDEL', 'castera:room:' .. meeting .. ':members', members[i])
      redis.call('HDEL', 'castera:room:' .. meeting .. ':lobby', members[i])
    end
    out[#out + 1] = members[i]
    out[#out + 1] = members[i + 1]
  end
  redis.call('DEL', registry, 'castera:instance:' .. id .. ':alive')
end
if ARGV[2] == 'self' then
  reap(ARGV[1])
else
  for _, id in ipairs(redis.call('SMEMBERS', 'castera:instances')) do
    if id ~= ARGV[1] and redis.call('EXISTS', 'castera:instance:' .. id .. ':alive') == 0 then reap(id) end
  end
end
return out
)lua";

void log_line(const std::string& line) { log::warning("bus", line); }

// Runs `start(done)` on the bus loop and resumes the awaiting coroutine on its own loop with
// what `done` is given (the first time; later calls are ignored). Every path of the bus calls
// `done`, a lost link with nothing.
template <typename T, typename Start>
asio::awaitable<T> ask_bus(asio::io_context& bus, Start start) {
    return await_reply<T>([&bus, start = std::move(start)](castera::Reply<T> reply) mutable {
        asio::post(bus, [start = std::move(start), reply = std::move(reply)]() mutable {
            start([reply](T value) { reply(std::move(value)); });
        });
    });
}

// A frame for the local receivers, copied once out of the received message.
Frame shared_frame(std::string_view text) {
    if (text.empty()) return nullptr;
    return std::make_shared<const std::string>(text);
}

// Frames are JSON objects; anything else on a channel did not come from a castera instance.
bool looks_like_frame(std::string_view text) { return text.empty() || (text.front() == '{' && text.back() == '}'); }

// A positive id, or 0.
Id parse_id(std::string_view text) {
    Id value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc{} && end == text.data() + text.size() && value > 0 ? value : 0;
}

class RedisBus final : public RoomBus {
public:
    RedisBus(const Config::Redis& settings, RoomHub& hub, ProcessCounters& counters)
        : settings_(settings), hub_(hub), counters_(counters), instance_("i_" + random_token(12)) {
        asio::co_spawn(io_, supervise(), [this](std::exception_ptr error) { supervisor_ended(error); });
        thread_ = std::thread([this] { run(); });
    }

    // Stops (once) if the server did not.
    ~RedisBus() override { stop(); }

    bool spans_instances() const override { return true; }
    BusState state() const override {
        return up_.load(std::memory_order_relaxed) ? BusState::connected : BusState::down;
    }

    // Membership changes are kept on the bus loop: posted in order from the member's loop.
    void joined(Id meeting, const RoomMember& member) override { post_joined(meeting, member, false); }
    void waiting(Id meeting, const RoomMember& member) override { post_joined(meeting, member, true); }

    void admitted(Id meeting, const RoomMember& member) override {
        asio::post(io_, [this, meeting, peer = member.peer_id] { member_admitted(meeting, peer); });
    }

    void left(Id meeting, const RoomMember& member) override {
        asio::post(io_, [this, meeting, peer = member.peer_id] { member_left(meeting, peer); });
    }

    // This instance's connections at once; the others' through the room's channel.
    void act(Id meeting, const RoomAction& action) override {
        hub_.act(meeting, action);
        if (!up_.load(std::memory_order_relaxed)) return;
        std::string user = std::to_string(action.user);
        std::string detail = action.kind == RoomAction::Kind::release ? action.token_hash : std::to_string(action.by);
        Message m{.kind = MessageKind::action,
                  .origin = instance_,
                  .meeting = meeting,
                  .peer = user,
                  .code = static_cast<std::uint16_t>(action.kind),
                  .first = detail};
        post_publish(publish_command(room_channel(meeting), m));
    }

    // Local members get the event at once, from the caller's thread; the others through Redis.
    // The message is encoded here, on the caller's loop, so the bus loop only hands it on.
    void broadcast(Id meeting, const RoomEvent& event, const RoomMember* except) override {
        hub_.broadcast(meeting, event, except);
        if (!up_.load(std::memory_order_relaxed)) return;
        Message m{.kind = event.moderators_only ? MessageKind::moderators : MessageKind::event,
                  .origin = instance_,
                  .meeting = meeting,
                  .first = event.compat ? std::string_view(*event.compat) : std::string_view(),
                  .second = event.typed ? std::string_view(*event.typed) : std::string_view()};
        if (m.first.empty() && m.second.empty()) return;
        post_publish(publish_command(room_channel(meeting), m));
    }

    void presence(Id meeting, std::string_view what, const RoomMember& who, const RoomMember* except) override {
        RoomEvent event = presence_event(what, who);
        hub_.broadcast(meeting, event, except);
        if (!up_.load(std::memory_order_relaxed)) return;
        post_publish(presence_command(meeting, what, who.peer_id, event));
    }

    void close_room(Id meeting, std::uint16_t code, const std::string& reason) override {
        hub_.close_room(meeting, code, reason);
        if (!up_.load(std::memory_order_relaxed)) return;
        Message m{.kind = MessageKind::close, .origin = instance_, .meeting = meeting, .code = code, .first = reason};
        post_publish(publish_command(room_channel(meeting), m));
    }

    // Encoded on the caller's loop, relayed by the bus loop. Not a coroutine.
    Task<bool> send_to_remote_peer(Id meeting, std::string peer_id, Frame frame) override {
        Message m{.kind = MessageKind::signal, .origin = instance_, .meeting = meeting, .peer = peer_id,
                  .second = frame ? std::string_view(*frame) : std::string_view()};
        std::string message = is_token(peer_id) && frame ? encode_message(m) : std::string();
        return ask_bus<bool>(io_, [this, meeting, peer = std::move(peer_id), message = std::move(message)](
                                      std::function<void(bool)> done) mutable {
            relay_signal(meeting, peer, message, std::move(done));
        });
    }

    // Not a coroutine: the bus loop answers.
    Task<std::vector<PeerInfo>> remote_members(Id meeting) override {
        return ask_bus<std::vector<PeerInfo>>(io_, [this, meeting](std::function<void(std::vector<PeerInfo>)> done) {
            fetch_members(meeting, false, [done = std::move(done)](RemoteRoom room) { done(std::move(room.members)); });
        });
    }

    // Not a coroutine: the bus loop answers.
    Task<RemoteRoom> remote_room(Id meeting, bool with_lobby) override {
        return ask_bus<RemoteRoom>(io_, [this, meeting, with_lobby](std::function<void(RemoteRoom)> done) {
            fetch_members(meeting, with_lobby, std::move(done));
        });
    }

    // Posts the stop and waits for the bus thread (at most kStopTimeout and a little).
    void stop() override {
        if (stopped_.exchange(true)) return;
        asio::post(io_, [this] { begin_stop(); });
        if (thread_.joinable()) thread_.join();
    }

private:
    using MembersDone = std::function<void(RemoteRoom)>;

    struct LocalMember {
        Id meeting = 0;
        Id user = 0;
        std::string email;
        bool waiting = false;  // in the room's lobby: listed there, not among its members
    };

    void post_joined(Id meeting, const RoomMember& member, bool waiting) {
        asio::post(io_, [this, meeting, peer = member.peer_id, user = member.user_id, email = member.email,
                         waiting]() mutable { member_joined(meeting, std::move(peer), user, std::move(email), waiting); });
    }

    // A room channel's subscription. Subscribe and unsubscribe never overlap on one channel:
    // hiredis 0.14 drops a channel's callback when an unsubscribe answer arrives, even one that
    // a newer subscribe had replaced.
    enum class Subscription { none, subscribing, active, unsubscribing };

    // A remote peer's last presence event, which a snapshot of the room's hash must not undo
    // (the event and the snapshot travel on different connections).
    struct RecentPresence {
        bool joined = false;
        bool by_resync = false;  // delivered by a resync: the same event from its instance is a repeat
        Clock::time_point at;
    };

    struct RoomState {
        int local = 0;  // members of this instance
        Subscription sub = Subscription::none;
        // Welcome lists wait for the subscription: a peer that joins elsewhere meanwhile is
        // then either in the list or announced on the channel, never missed.
        std::vector<std::function<void()>> waiters;
        // The other instances' peers as this instance's members know them, to tell them what
        // changed while Redis was away (resync).
        std::unordered_map<std::string, PeerInfo> remote;
        std::unordered_map<std::string, RecentPresence> recent;
    };

    // ---- The bus loop's thread (everything below runs there).

    // Runs the loop until stop; an exception from a handler is logged, never fatal.
    void run() {
        for (;;) {
            try {
                io_.run();
                return;
            } catch (const std::exception& e) {
                log_line(std::string("unexpected error: ") + e.what());
            }
        }
    }

    // The supervisor ends when the bus stops; one that an error ended starts again, since
    // the loops count on the bus answering them.
    void supervisor_ended(std::exception_ptr error) {
        if (error && !stopping_) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                log_line(std::string("unexpected error, starting again: ") + e.what());
            }
            drop_links();
            asio::co_spawn(io_, supervise(), [this](std::exception_ptr e) { supervisor_ended(e); });
            return;
        }
        io_.stop();
    }

    // Connects, stays up while Redis answers, reconnects with backoff when it does not.
    Task<void> supervise() {
        milliseconds backoff = kFirstBackoff;
        while (!stopping_) {
            // Bound to a name first: GCC 12 can miscompile a co_await inside a condition.
            const bool connected = co_await connect();
            if (connected) {
                if (ever_connected_) counters_.bus_reconnects.fetch_add(1, std::memory_order_relaxed);
                ever_connected_ = true;
                backoff = kFirstBackoff;
                co_await stay_up();
                if (stopping_) co_await say_goodbye();
            }
            if (!stopping_) note_down();
            drop_links();
            if (stopping_) break;
            co_await pause(jittered(backoff));
            backoff = std::min(backoff * 2, kMaxBackoff);
        }
        drop_links();
    }

    // Both connections up, authenticated, and this instance registered; false otherwise.
    Task<bool> connect() {
        std::uint64_t phase = arm_phase_deadline();
        // Resolved on Asio's resolver thread: hiredis would resolve a name with a blocking call.
        std::string port = std::to_string(settings_.port);
        auto [ec, endpoints] = co_await resolver_.async_resolve(settings_.host, port, use_tuple);
        if (ec || endpoints.empty()) {
            failure_ = "cannot resolve " + settings_.host + ": " + ec.message();
            disarm_phase_deadline(phase);
            co_return false;
        }
        // A name may have several addresses (IPv6 and IPv4, say): each attempt takes the next.
        auto endpoint = endpoints.begin();
        std::advance(endpoint, static_cast<long>(attempts_++ % endpoints.size()));
        std::string address = endpoint->endpoint().address().to_string();
        commands_ = std::make_unique<RedisLink>(io_, address, settings_.port, [this] { tick_.cancel(); });
        events_ = std::make_unique<RedisLink>(io_, address, settings_.port, [this] { tick_.cancel(); });
        while (!stopping_ && (commands_->state() == RedisLink::State::connecting ||
                              events_->state() == RedisLink::State::connecting))
            co_await pause(kConnectTimeout);
        bool ok = links_up() && !stopping_;
        if (!ok) failure_ = link_error();
        if (ok) ok = co_await authenticate(*commands_, true);
        if (ok) ok = co_await authenticate(*events_, false);
        if (ok) ok = co_await register_instance();
        disarm_phase_deadline(phase);
        co_return ok && links_up();
    }

    // AUTH (Redis 6 ACL user or plain password) and SELECT, as the URL asks.
    Task<bool> authenticate(RedisLink& link, bool select_database) {
        if (!settings_.password.empty()) {
            std::vector<std::string> args{"AUTH"};
            if (!settings_.username.empty()) args.push_back(settings_.username);
            args.push_back(settings_.password);
            Reply reply = co_await command(link, std::move(args));
            if (!reply.ok()) {
                failure_ = "AUTH failed: " + (reply.type == Reply::Type::error ? reply.text : link_error());
                co_return false;
            }
        }
        if (select_database && settings_.db != 0) {
            std::vector<std::string> args{"SELECT", std::to_string(settings_.db)};
            Reply reply = co_await command(link, std::move(args));
            if (!reply.ok()) {
                failure_ = "SELECT failed: " + (reply.type == Reply::Type::error ? reply.text : link_error());
                co_return false;
            }
        }
        co_return true;
    }

    // Lists this instance, learns what Redis still believes about its members, then, without
    // waiting again, sets the record straight and subscribes.
    Task<bool> register_instance() {
        std::vector<std::string> beat = beat_command();
        Reply listed = co_await command(*commands_, std::move(beat));
        std::vector<std::string> list{"HGETALL", instance_members_key(instance_)};
        Reply known = co_await command(*commands_, std::move(list));
        if (!listed.ok() || known.type != Reply::Type::array) {
            failure_ = listed.type == Reply::Type::error ? listed.text
                       : known.type == Reply::Type::error ? known.text
                                                           : link_error();
            co_return false;
        }
        // From here on nothing waits: joins and leaves queued meanwhile see the final state.
        registered_ = true;
        up_ = true;
        beat_answered_ = true;
        reconcile(known);
        std::vector<std::string> own{"SUBSCRIBE", instance_channel(instance_)};
        events_->send(own, &RedisBus::on_channel_reply, this);
        for (auto& [meeting, room] : rooms_) {
            if (room.local == 0) continue;
            subscribe(meeting);
            Id id = meeting;
            room.waiters.push_back([this, id] { resync(id); });
        }
        co_return true;
    }

    // After a connection (first or again): members that left while Redis was away are removed
    // and announced as left, members Redis does not know are announced as joined, and every
    // member is stored again (Redis may have lost its data).
    void reconcile(const Reply& known) {
        std::unordered_set<std::string_view> in_redis;
        for (std::size_t i = 0; i + 1 < known.elements.size(); i += 2) {
            const std::string& peer = known.elements[i].text;
            if (members_.contains(peer)) {
                in_redis.insert(peer);
                continue;
            }
            std::vector<std::string> forget{"HDEL", instance_members_key(instance_), peer};
            commands_->send(forget, nullptr, nullptr);
            auto record = decode_member(known.elements[i + 1].text);
            Id meeting = record ? parse_id(record->owner) : 0;
            if (meeting == 0) continue;
            std::vector<std::string> unlist{"HDEL", room_members_key(meeting), peer};
            std::vector<std::string> unwait{"HDEL", room_lobby_key(meeting), peer};
            commands_->send(unlist, nullptr, nullptr);
            commands_->send(unwait, nullptr, nullptr);
            announce("left", meeting, PeerInfo{peer, record->user, std::string(record->email)}, false);
        }
        for (const auto& [peer, member] : members_) {
            store_member(peer, member);
            if (in_redis.contains(peer) || member.waiting) continue;
            announce("joined", member.meeting, PeerInfo{peer, member.user, member.email}, false);
        }
    }

    // Heartbeats and sweeps until a link fails, Redis stops answering, or the bus stops.
    Task<void> stay_up() {
        note_up();
        Clock::time_point next_beat = Clock::now() + beat_period();
        Clock::time_point next_sweep = Clock::now();  // at once: instances may have died meanwhile
        while (!stopping_ && links_up() && registered_) {
            Clock::time_point now = Clock::now();
            if (now >= next_beat) {
                if (!beat_answered_) {
                    failure_ = "Redis stopped answering";
                    co_return;
                }
                send_beat();
                next_beat = now + beat_period();
            }
            if (now >= next_sweep) {
                sweep();
                next_sweep = now + kSweepPeriod;
            }
            co_await pause_until(std::min(next_beat, next_sweep));
        }
        if (!stopping_ && failure_.empty()) failure_ = link_error();
    }

    // Tells everyone this instance's remaining members are gone, then waits for it to be sent.
    Task<void> say_goodbye() {
        if (!registered_ || !links_up()) co_return;
        std::vector<std::string> reap{"EVAL", std::string(kReapScript), "0", instance_, "self"};
        Reply removed = co_await command(*commands_, std::move(reap));
        if (registered_) announce_reaped(removed, false);
        std::vector<std::string> ping{"PING"};
        co_await command(*commands_, std::move(ping));
    }

    // Wakes the supervisor for its goodbye, bounded by kStopTimeout.
    void begin_stop() {
        stopping_ = true;
        tick_.cancel();
        resolver_.cancel();
        if (!registered_) close_links("stopping");
        stop_deadline_.expires_after(kStopTimeout);
        stop_deadline_.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            close_links("stopping");
            io_.stop();
        });
    }

    // ---- Links

    // Both connections established (registration is another matter: see registered_).
    bool links_up() const {
        return commands_ && events_ && commands_->state() == RedisLink::State::connected &&
               events_->state() == RedisLink::State::connected;
    }

    // hiredis' words for why a link closed, for the log.
    std::string link_error() const {
        for (const auto* link : {commands_.get(), events_.get()})
            if (link && link->state() == RedisLink::State::closed && !link->error().empty()) return link->error();
        return "no answer";
    }

    // Ends every wait on the links at once; the supervisor then drops them.
    void close_links(const std::string& why) {
        if (commands_) commands_->close(why);
        if (events_) events_->close(why);
    }

    // Forgets both connections: whatever waited on them is answered with nothing.
    void drop_links() {
        registered_ = false;
        up_ = false;
        ++generation_;
        for (auto& [meeting, room] : rooms_) room.sub = Subscription::none;
        for (auto& [meeting, room] : rooms_) run_waiters(room);
        std::erase_if(rooms_, [](const auto& entry) { return entry.second.local == 0; });
        commands_.reset();
        events_.reset();
    }

    // Bounds one connection attempt: on expiry the links are closed, which ends every wait.
    std::uint64_t arm_phase_deadline() {
        std::uint64_t phase = ++phase_;
        phase_deadline_.expires_after(kConnectTimeout);
        phase_deadline_.async_wait([this, phase](boost::system::error_code ec) {
            if (ec || phase != phase_) return;
            resolver_.cancel();
            close_links("timed out after " + std::to_string(kConnectTimeout.count()) + " ms");
        });
        return phase;
    }

    // The attempt is over: its deadline must not close the links it made.
    void disarm_phase_deadline(std::uint64_t phase) {
        if (phase != phase_) return;
        ++phase_;
        phase_deadline_.cancel();
    }

    // Not a coroutine: forwards to pause_until.
    Task<void> pause(milliseconds how_long) { return pause_until(Clock::now() + how_long); }

    // Sleeps until `when`, or until a link changes state or the bus stops.
    Task<void> pause_until(Clock::time_point when) {
        tick_.expires_at(when);
        (void)co_await tick_.async_wait(use_tuple);
    }

    // Half to all of `base`, so that instances that lost Redis together do not all retry together.
    milliseconds jittered(milliseconds base) {
        std::uniform_int_distribution<long> spread(base.count() / 2, base.count());
        return milliseconds(spread(random_));
    }

    // ---- Liveness

    // Three liveness refreshes per TTL: one lost or late refresh does not make the instance dead.
    milliseconds beat_period() const {
        return std::max(milliseconds(500), std::chrono::duration_cast<milliseconds>(settings_.instance_ttl) / 3);
    }

    // Refreshes the liveness key and lists the instance (kBeatScript).
    std::vector<std::string> beat_command() const {
        return {"EVAL", std::string(kBeatScript), "1", instance_alive_key(instance_),
                std::to_string(settings_.instance_ttl.count()), instance_};
    }

    // One heartbeat; stay_up gives the links up when it is not answered by the next one.
    void send_beat() {
        beat_answered_ = false;
        std::uint64_t generation = generation_;
        commands_->request(beat_command(), [this, generation](Reply reply) {
            if (generation != generation_ || !reply.ok()) return;
            beat_answered_ = true;
            // Listed anew: another instance took this one for dead and announced its members
            // as left. Registering again (on a fresh connection) announces them as joined.
            if (reply.type == Reply::Type::integer && reply.integer == 1) {
                log_line("this instance was taken for dead (Redis was too slow or unreachable); registering again");
                failure_ = "registering again";
                registered_ = false;
                tick_.cancel();
            }
        });
    }

    // Claims instances whose liveness key expired and announces their members as left.
    void sweep() {
        std::vector<std::string> reap{"EVAL", std::string(kReapScript), "0", instance_, "dead"};
        commands_->request(reap, [this](Reply reply) { announce_reaped(reply, true); });
    }

    // The reap script's answer: each removed member is announced as left, once.
    void announce_reaped(const Reply& reply, bool deliver_locally) {
        if (reply.type != Reply::Type::array) return;
        std::size_t count = 0;
        for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
            const std::string& peer = reply.elements[i].text;
            auto record = decode_member(reply.elements[i + 1].text);
            Id meeting = record ? parse_id(record->owner) : 0;
            if (meeting == 0 || !is_token(peer)) continue;
            announce("left", meeting, PeerInfo{peer, record->user, std::string(record->email)}, deliver_locally);
            ++count;
        }
        if (count > 0 && deliver_locally)
            log_line(std::to_string(count) + " participant(s) of a stopped instance announced as left");
    }

    // A presence event about a participant that no connection will announce itself.
    void announce(std::string_view what, Id meeting, const PeerInfo& peer, bool deliver_locally) {
        RoomEvent event = presence_event(what, peer);
        if (deliver_locally) {
            hub_.broadcast(meeting, event);
            track_presence(meeting, peer.peer_id, what == "joined", &peer, false);
        }
        publish_now(presence_command(meeting, what, peer.peer_id, event));
    }

    // A presence event, marked with its subject for the instances that track the room.
    std::string presence_command(Id meeting, std::string_view what, std::string_view peer,
                                 const RoomEvent& event) const {
        Message m{.kind = MessageKind::event,
                  .origin = instance_,
                  .meeting = meeting,
                  .peer = peer,
                  .code = static_cast<std::uint16_t>(what == "joined" ? Presence::joined : Presence::left),
                  .first = *event.compat,
                  .second = *event.typed};
        return publish_command(room_channel(meeting), m);
    }

    // ---- Members and subscriptions

    // A member of this instance joined: listed in Redis (now, or at registration) and its
    // room's channel subscribed.
    void member_joined(Id meeting, std::string peer, Id user, std::string email, bool waiting) {
        RoomState& room = rooms_[meeting];
        ++room.local;
        LocalMember member{meeting, user, std::move(email), waiting};
        auto [entry, inserted] = members_.insert_or_assign(std::move(peer), std::move(member));
        if (!registered_) return;  // stored at registration
        store_member(entry->first, entry->second);
        if (room.local == 1) subscribe(meeting);
    }

    // A member of this instance was let in from the lobby: listed among the room's members.
    void member_admitted(Id meeting, const std::string& peer) {
        auto it = members_.find(peer);
        if (it == members_.end() || !it->second.waiting) return;
        it->second.waiting = false;
        if (!registered_) return;  // stored at registration
        store_member(it->first, it->second);
        std::vector<std::string> unwait{"HDEL", room_lobby_key(meeting), peer};
        commands_->send(unwait, nullptr, nullptr);
    }

    // A member of this instance left: unlisted, and the channel unsubscribed with the last one.
    void member_left(Id meeting, const std::string& peer) {
        if (members_.erase(peer) == 0) return;
        auto room = rooms_.find(meeting);
        if (room == rooms_.end()) return;
        if (--room->second.local == 0) {
            room->second.remote.clear();  // nobody here to keep informed
            room->second.recent.clear();
        }
        if (registered_) {
            std::vector<std::string> forget{"HDEL", instance_members_key(instance_), peer};
            std::vector<std::string> unlist{"HDEL", room_members_key(meeting), peer};
            std::vector<std::string> unwait{"HDEL", room_lobby_key(meeting), peer};
            commands_->send(unlist, nullptr, nullptr);
            commands_->send(unwait, nullptr, nullptr);
            commands_->send(forget, nullptr, nullptr);
            if (room->second.local == 0) unsubscribe(meeting);
        }
        forget_room_if_idle(meeting);
    }

    // Into this instance's hash first: a member is never in a room's hash without a record of
    // where to remove it from should this instance die.
    void store_member(const std::string& peer, const LocalMember& member) {
        std::vector<std::string> own{"HSET", instance_members_key(instance_), peer,
                                     encode_member(std::to_string(member.meeting), member.user, member.email)};
        std::vector<std::string> room{"HSET", member.waiting ? room_lobby_key(member.meeting) : room_members_key(member.meeting),
                                      peer, encode_member(instance_, member.user, member.email)};
        commands_->send(own, nullptr, nullptr);
        commands_->send(room, nullptr, nullptr);
    }

    // Subscribes the room's channel unless a subscription is under way or in place.
    void subscribe(Id meeting) {
        RoomState& room = rooms_[meeting];
        if (room.sub != Subscription::none) return;  // unsubscribing: its answer subscribes again
        std::vector<std::string> args{"SUBSCRIBE", room_channel(meeting)};
        if (events_ && events_->send(args, &RedisBus::on_channel_reply, this)) room.sub = Subscription::subscribing;
    }

    // Unsubscribes the room's channel once its subscription is confirmed.
    void unsubscribe(Id meeting) {
        RoomState& room = rooms_[meeting];
        if (room.sub != Subscription::active) return;  // subscribing: its answer unsubscribes
        std::vector<std::string> args{"UNSUBSCRIBE", room_channel(meeting)};
        if (events_ && events_->send(args, nullptr, nullptr)) room.sub = Subscription::unsubscribing;
    }

    // A room with no member here, no subscription and nobody waiting needs no state.
    void forget_room_if_idle(Id meeting) {
        auto it = rooms_.find(meeting);
        if (it != rooms_.end() && it->second.local == 0 && it->second.sub == Subscription::none &&
            it->second.waiters.empty())
            rooms_.erase(it);
    }

    // Runs what waited for the room's subscription (or for the links to go).
    void run_waiters(RoomState& room) {
        auto waiters = std::move(room.waiters);
        room.waiters.clear();
        for (auto& waiter : waiters) waiter();
    }

    // Every answer on the events connection: published messages, and the confirmations of
    // subscribe and unsubscribe. Runs inside hiredis; the reply is only read.
    static void on_channel_reply(redisAsyncContext*, void* reply, void* privdata) {
        if (reply == nullptr || privdata == nullptr) return;  // the link is closing
        static_cast<RedisBus*>(privdata)->on_channel(*static_cast<const redisReply*>(reply));
    }

    // ["message", channel, payload], or ["subscribe" | "unsubscribe", channel, count].
    void on_channel(const redisReply& reply) {
        if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 3) return;
        const redisReply* kind = reply.element[0];
        const redisReply* channel = reply.element[1];
        if (kind->type != REDIS_REPLY_STRING || channel->type != REDIS_REPLY_STRING) return;
        std::string_view what(kind->str, kind->len);
        if (what == "message") {
            const redisReply* payload = reply.element[2];
            if (payload->type == REDIS_REPLY_STRING) deliver(std::string_view(payload->str, payload->len));
            return;
        }
        Id meeting = meeting_of_channel(std::string_view(channel->str, channel->len));
        auto it = rooms_.find(meeting);
        if (meeting == 0 || it == rooms_.end()) return;
        if (what == "subscribe") subscribed(meeting, it->second);
        else if (what == "unsubscribe") unsubscribed(meeting, it->second);
    }

    // Confirmed: welcome lists may read the room's hash now.
    void subscribed(Id meeting, RoomState& room) {
        room.sub = Subscription::active;
        if (room.local == 0) unsubscribe(meeting);
        run_waiters(room);
    }

    // Confirmed: subscribe again if a member joined meanwhile.
    void unsubscribed(Id meeting, RoomState& room) {
        room.sub = Subscription::none;
        if (room.local > 0) subscribe(meeting);
        else forget_room_if_idle(meeting);
    }

    // A message from another instance, to this instance's members.
    void deliver(std::string_view payload) {
        auto message = decode_message(payload);
        bool frames = message && (message->kind == MessageKind::close || message->kind == MessageKind::action ||
                                  (looks_like_frame(message->first) && looks_like_frame(message->second)));
        if (!frames) {
            note_malformed();
            return;
        }
        if (message->origin == instance_) return;  // delivered locally when it was published
        switch (message->kind) {
            case MessageKind::event:
                if (!message->peer.empty() && !track_remote_presence(*message)) break;
                hub_.broadcast(message->meeting,
                               RoomEvent{shared_frame(message->first), shared_frame(message->second)});
                break;
            case MessageKind::moderators: {
                RoomEvent event{shared_frame(message->first), shared_frame(message->second)};
                event.moderators_only = true;
                hub_.broadcast(message->meeting, event);
                break;
            }
            case MessageKind::signal:
                hub_.send_to_peer(message->meeting, message->peer, shared_frame(message->second));
                break;
            case MessageKind::close:
                hub_.close_room(message->meeting, message->code, std::string(message->first));
                break;
            case MessageKind::action:
                if (auto action = action_of(*message)) hub_.act(message->meeting, *action);
                else note_malformed();
                break;
        }
    }

    // The RoomAction an action message carries, or nothing when it does not make sense.
    static std::optional<RoomAction> action_of(const Message& m) {
        RoomAction action;
        action.kind = static_cast<RoomAction::Kind>(m.code);
        action.user = m.peer == "0" ? 0 : parse_id(m.peer);
        if (action.user == 0 && !(action.kind == RoomAction::Kind::open_lobby && m.peer == "0")) return std::nullopt;
        if (action.kind == RoomAction::Kind::release) {
            if (m.first.size() != 64) return std::nullopt;
            action.token_hash = std::string(m.first);
        } else {
            action.by = m.first == "0" ? 0 : parse_id(m.first);
        }
        return action;
    }

    // ---- The room's remote peers

    // Notes a presence event from another instance; false when it repeats what a resync
    // already told this instance's members.
    bool track_remote_presence(const Message& message) {
        bool joined = message.code == static_cast<std::uint16_t>(Presence::joined);
        std::string peer(message.peer);
        auto room = rooms_.find(message.meeting);
        if (room == rooms_.end() || room->second.local == 0) return true;
        auto recent = room->second.recent.find(peer);
        if (recent != room->second.recent.end() && recent->second.by_resync && recent->second.joined == joined &&
            Clock::now() - recent->second.at < kRecentWindow)
            return false;
        std::optional<PeerInfo> info = joined ? peer_of_frame(message.second) : std::nullopt;
        track_presence(message.meeting, peer, joined, info ? &*info : nullptr, false);
        return true;
    }

    // Keeps the room's remote peers as this instance's members were told them.
    void track_presence(Id meeting, const std::string& peer, bool joined, const PeerInfo* info, bool by_resync) {
        auto room = rooms_.find(meeting);
        if (room == rooms_.end() || room->second.local == 0) return;
        RoomState& r = room->second;
        forget_old_presence(r);
        r.recent.insert_or_assign(peer, RecentPresence{joined, by_resync, Clock::now()});
        if (!joined) r.remote.erase(peer);
        else if (info) r.remote.insert_or_assign(peer, *info);
    }

    // Presence events older than kRecentWindow no longer outweigh a snapshot.
    void forget_old_presence(RoomState& room) {
        auto now = Clock::now();
        std::erase_if(room.recent, [&](const auto& entry) { return now - entry.second.at >= kRecentWindow; });
    }

    // A welcome list's snapshot: what a member of this instance now knows.
    void learn_remote(Id meeting, const std::vector<PeerInfo>& peers) {
        auto room = rooms_.find(meeting);
        if (room == rooms_.end() || room->second.local == 0) return;
        for (const auto& peer : peers) {
            auto recent = room->second.recent.find(peer.peer_id);
            if (recent != room->second.recent.end() && !recent->second.joined) continue;
            room->second.remote.insert_or_assign(peer.peer_id, peer);
        }
    }

    // After Redis was away: tells this instance's members of the room who joined or left on
    // other instances meanwhile, by comparing what they know with the room's hash.
    void resync(Id meeting) {
        if (!registered_) return;
        std::vector<std::string> args{"HGETALL", room_members_key(meeting)};
        commands_->request(args, [this, meeting](Reply reply) {
            if (reply.type == Reply::Type::array) resync_with(meeting, remote_peers(reply));
        });
    }

    // The difference between the room's hash and what this instance's members know.
    void resync_with(Id meeting, const std::vector<PeerInfo>& now_present) {
        auto room = rooms_.find(meeting);
        if (room == rooms_.end() || room->second.local == 0) return;
        RoomState& r = room->second;
        forget_old_presence(r);
        std::unordered_set<std::string_view> present;
        std::vector<std::pair<std::string, PeerInfo>> changes;  // "joined"/"left"
        for (const auto& peer : now_present) {
            present.insert(peer.peer_id);
            if (!r.remote.contains(peer.peer_id) && !r.recent.contains(peer.peer_id))
                changes.emplace_back("joined", peer);
        }
        for (const auto& [peer, info] : r.remote)
            if (!present.contains(peer) && !r.recent.contains(peer)) changes.emplace_back("left", info);
        for (const auto& [what, peer] : changes) {
            hub_.broadcast(meeting, presence_event(what, peer));
            track_presence(meeting, peer.peer_id, what == "joined", &peer, true);
        }
    }

    // The subject of a castera.v2 presence frame from another instance.
    static std::optional<PeerInfo> peer_of_frame(std::string_view typed) {
        boost::system::error_code ec;
        boost::json::value value = boost::json::parse(typed, ec);
        const auto* frame = ec ? nullptr : value.if_object();
        if (!frame) return std::nullopt;
        const auto* peer = frame->if_contains("peer_id");
        const auto* user = frame->if_contains("user");
        const auto* email = frame->if_contains("user_email");
        if (!peer || !peer->is_string() || !user || !user->is_int64() || !email || !email->is_string())
            return std::nullopt;
        return PeerInfo{std::string(peer->get_string()), user->get_int64(), std::string(email->get_string())};
    }

    // ---- Answers to the loops

    // The room's remote members for a welcome, once the room's subscription is confirmed.
    void fetch_members(Id meeting, bool with_lobby, MembersDone done) {
        if (!registered_) return done({});
        auto it = rooms_.find(meeting);
        if (it != rooms_.end() && it->second.local > 0 && it->second.sub != Subscription::active) {
            it->second.waiters.push_back([this, meeting, with_lobby, done] { fetch_now(meeting, with_lobby, done); });
            return;
        }
        fetch_now(meeting, with_lobby, std::move(done));
    }

    // Reads the room's hash, and its lobby's when asked: both requests leave together, so one
    // round trip (an empty list when Redis is away).
    void fetch_now(Id meeting, bool with_lobby, MembersDone done) {
        if (!registered_) return done({});
        auto room = std::make_shared<RemoteRoom>();
        if (with_lobby) {
            std::vector<std::string> lobby{"HGETALL", room_lobby_key(meeting)};
            commands_->request(lobby, [this, room](Reply reply) { room->waiting = remote_peers(reply); });
        }
        std::vector<std::string> args{"HGETALL", room_members_key(meeting)};
        commands_->request(args, [this, meeting, room, done = std::move(done)](Reply reply) {
            room->members = remote_peers(reply);
            learn_remote(meeting, room->members);
            done(std::move(*room));
        });
    }

    // The room hash's members of other instances (this one's come from the hub).
    std::vector<PeerInfo> remote_peers(const Reply& reply) const {
        std::vector<PeerInfo> out;
        for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
            const std::string& peer = reply.elements[i].text;
            auto record = decode_member(reply.elements[i + 1].text);
            if (!record || record->owner == instance_ || !is_token(peer)) continue;
            out.push_back(PeerInfo{peer, record->user, std::string(record->email)});
        }
        return out;
    }

    // kRelayScript: true when the peer's instance received the signal.
    void relay_signal(Id meeting, const std::string& peer, const std::string& message, std::function<void(bool)> done) {
        if (!registered_ || message.empty()) return done(false);
        std::vector<std::string> args{"EVAL", std::string(kRelayScript), "1", room_members_key(meeting), peer,
                                      std::string(kInstanceChannelPrefix), message};
        commands_->request(args, [done = std::move(done)](Reply reply) {
            done(reply.type == Reply::Type::integer && reply.integer > 0);
        });
    }

    // ---- Publishing

    // Hands an encoded PUBLISH from a loop to the bus loop.
    void post_publish(std::string command) {
        asio::post(io_, [this, command = std::move(command)] { publish_now(command); });
    }

    // Events published while Redis is away are dropped: local members had them already.
    void publish_now(std::string_view command) {
        if (!registered_ || !commands_) return;
        if (commands_->unsent_bytes() > kMaxUnsentBytes) {
            note_dropped();
            return;
        }
        commands_->send_formatted(command);
    }

    // ---- The log: one line per change of state, repeated failures at most every 30 s.

    // Redis went away or could not be reached.
    void note_down() {
        if (failure_.empty()) failure_ = link_error();
        auto now = Clock::now();
        if (!down_logged_ || now - last_down_log_ >= kLogEvery) {
            log_line("Redis at " + settings_.host + ":" + std::to_string(settings_.port) + " unavailable (" +
                     failure_ + "); rooms are local to this instance until it is back; reconnecting");
            last_down_log_ = now;
        }
        down_logged_ = true;
        failure_.clear();
    }

    // Registered (again).
    void note_up() {
        log_line((down_logged_ ? "Redis reachable again at " : "connected to Redis at ") + settings_.host + ":" +
                 std::to_string(settings_.port) + " as instance " + instance_);
        down_logged_ = false;
        failure_.clear();
    }

    // A message on a channel that no castera instance wrote: counted, logged now and then.
    void note_malformed() {
        ++malformed_;
        counters_.bus_messages_malformed.fetch_add(1, std::memory_order_relaxed);
        auto now = Clock::now();
        if (now - last_malformed_log_ < kLogEvery) return;
        last_malformed_log_ = now;
        log_line("dropped " + std::to_string(malformed_) + " malformed message(s) from Redis so far");
    }

    // An event not sent because Redis is not keeping up.
    void note_dropped() {
        ++dropped_;
        counters_.bus_events_dropped.fetch_add(1, std::memory_order_relaxed);
        auto now = Clock::now();
        if (now - last_dropped_log_ < kLogEvery) return;
        last_dropped_log_ = now;
        log_line("Redis is not keeping up: " + std::to_string(dropped_) +
                 " event(s) not sent to other instances so far");
    }

    // Declared first: destroyed last, after every object that uses it.
    asio::io_context io_{1};
    const Config::Redis settings_;
    RoomHub& hub_;
    ProcessCounters& counters_;
    const std::string instance_;  // unique per process start
    std::atomic<bool> up_{false};  // registered in Redis; read by the loops
    std::atomic<bool> stopped_{false};

    // The bus loop's own state.
    asio::steady_timer tick_{io_};
    asio::steady_timer phase_deadline_{io_};
    asio::steady_timer stop_deadline_{io_};
    asio::ip::tcp::resolver resolver_{io_};
    std::unique_ptr<RedisLink> commands_;  // commands and PUBLISH
    std::unique_ptr<RedisLink> events_;    // subscriptions only
    std::unordered_map<std::string, LocalMember> members_;  // by peer id
    std::unordered_map<Id, RoomState> rooms_;
    bool registered_ = false;
    bool stopping_ = false;
    bool beat_answered_ = true;
    std::uint64_t generation_ = 0;  // of the links, so that late answers to old ones are ignored
    std::uint64_t phase_ = 0;
    std::size_t attempts_ = 0;
    std::string failure_;
    bool down_logged_ = false;
    Clock::time_point last_down_log_{};
    Clock::time_point last_malformed_log_{};
    Clock::time_point last_dropped_log_{};
    bool ever_connected_ = false;  // a later registration is a reconnect
    std::uint64_t malformed_ = 0;
    std::uint64_t dropped_ = 0;
    std::minstd_rand random_{std::random_device{}()};

    std::thread thread_;  // last: starts once everything above exists
};

}  // namespace

std::unique_ptr<RoomBus> make_redis_bus(const Config::Redis& settings, RoomHub& hub, ProcessCounters& counters) {
    return std::make_unique<RedisBus>(settings, hub, counters);
}

}  // namespace castera::bus
