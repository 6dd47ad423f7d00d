// Micro-benchmarks of the pieces every request or chat message goes through: routing, JSON
// encoding of a meeting, the verified-credential cache, session lookup, WebSocket frame
// encoding and fan-out. They run in one process on a throwaway SQLite file, with no network,
// so that a change to one piece shows up here even when wrk's figures are lost in noise.
#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <exception>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "api/router.hpp"
#include "api/serializers.hpp"
#include "app/app.hpp"
#include "auth/authenticate.hpp"
#include "auth/password.hpp"
#include "auth/sessions.hpp"
#include "realtime/frames.hpp"
#include "realtime/room_hub.hpp"
#include "util/encoding.hpp"
#include "util/json_writer.hpp"
#include "util/time.hpp"

namespace castera {
namespace {

namespace asio = boost::asio;

constexpr std::string_view kEmail = "bench@example.com";
constexpr std::string_view kPassword = "bench-password";
constexpr std::string_view kSessionKey = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";

// Runs one coroutine to completion on `io`. A plain callback, not use_future: the benchmark
// should measure the coroutine, not a promise and its mutex.
template <typename T>
T run(asio::io_context& io, Task<T> task) {
    std::optional<T> out;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
        error = e;
        if (!e) out.emplace(std::move(value));
    });
    io.restart();
    io.run();
    if (error) std::rethrow_exception(error);
    return std::move(*out);
}

// Header fields for a Request, looked up case-insensitively as Beast does.
struct Headers {
    std::vector<std::pair<std::string, std::string>> fields;

    static std::string_view lookup(const void* self, std::string_view name) {
        for (const auto& [key, value] : static_cast<const Headers*>(self)->fields)
            if (key.size() == name.size() &&
                std::equal(key.begin(), key.end(), name.begin(),
                           [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
                return value;
        return {};
    }
};

struct FakeRequest {
    Headers headers;
    http::Request req;

    FakeRequest(http::Method method, std::string_view path, std::vector<std::pair<std::string, std::string>> fields) {
        headers.fields = std::move(fields);
        headers.fields.emplace_back("Host", "127.0.0.1:8000");
        req.method = method;
        req.method_name = method == http::Method::post ? "POST" : "GET";
        req.target = path;
        req.path = path;
        req.remote_address = "127.0.0.1";
        req.headers = http::HeaderView(&headers, &Headers::lookup);
    }
};

// The session is named before co_await: GCC 12 destroys a braced temporary inside a co_await
// expression twice (docs/DESIGN.md, coroutine rules).
Task<int> add_session(Store& store, Id user) {
    Session session{session_key_hash(kSessionKey), user, now_utc() + std::chrono::hours(1)};
    co_await store.create_session(std::move(session));
    co_return 0;
}

// One App and one Loop on a throwaway SQLite file holding a user, a meeting and a session.
class World {
public:
    static World& get() {
        static World world;
        return world;
    }

    asio::io_context io;
    std::filesystem::path dir;
    std::unique_ptr<App> app;
    std::unique_ptr<Loop> loop;
    Meeting meeting;
    std::string basic_header;

private:
    World() {
        dir = std::filesystem::temp_directory_path() /
              ("castera-micro-" + std::to_string(std::random_device{}()));
        std::filesystem::create_directories(dir);
        Config config;
        config.secret_key = std::string(64, 'k');
        config.database_url = "sqlite:" + (dir / "micro.db").string();
        auto factory = make_store_factory(config.database_url);
        factory->migrate();
        app = std::make_unique<App>(std::move(config), std::move(factory));
        loop = std::make_unique<Loop>(Loop{*app, io, app->stores->make_store()});
        seed();
    }
    ~World() {
        loop.reset();
        app.reset();
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }

    void seed() {
        Store& store = *loop->store;
        NewUser user;
        user.email = kEmail;
        // Few iterations: only the first Basic request pays for it, and set-up stays quick.
        user.password = make_password(kPassword, 1000);
        User created = run(io, store.create_user(user));
        Meeting m;
        m.title = "Weekly planning";
        m.description = "Agenda: roadmap, hiring and the launch.";
        m.scheduled_date = now_utc();
        m.user_id = created.id;
        meeting = run(io, store.create_meeting(m));
        run(io, add_session(store, created.id));
        basic_header = "Basic " + base64_encode(std::string(kEmail) + ":" + std::string(kPassword));
    }
};

std::string session_cookie() { return "sessionid=" + std::string(kSessionKey) + "; csrftoken=abc"; }

// The cost of spawning and finishing one coroutine, to subtract from the coroutine figures.
void BM_CoroutineRoundTrip(benchmark::State& state) {
    asio::io_context io;
    for (auto _ : state) benchmark::DoNotOptimize(run(io, []() -> Task<int> { co_return 1; }()));
}
BENCHMARK(BM_CoroutineRoundTrip);

// Routing and dispatch with no database: /healthz (the first route), a 403 for the last
// route of the table without credentials, and a 404 that walks every route.
void route(benchmark::State& state, std::string path, unsigned expected) {
    World& world = World::get();
    FakeRequest fake(http::Method::get, path, {});
    for (auto _ : state) {
        http::Response res = run(world.io, api::handle_request(fake.req, *world.loop));
        if (res.status != expected) state.SkipWithError("unexpected status");
        benchmark::DoNotOptimize(res);
    }
}
BENCHMARK_CAPTURE(route, healthz, "/healthz", 200);
BENCHMARK_CAPTURE(route, last_route_no_credentials, "/api/meetings/7/stop-screen-share/", 403);
BENCHMARK_CAPTURE(route, not_found, "/api/nothing/here/", 404);

// One meeting as the API writes it, into a reused buffer as a response body would be.
void BM_JsonMeeting(benchmark::State& state) {
    Meeting m = World::get().meeting;
    std::string out;
    for (auto _ : state) {
        out.clear();
        JsonWriter w(out);
        api::write_meeting(w, m);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_JsonMeeting);

// The 50-meeting list of GET /api/meetings/.
void BM_JsonMeetingList50(benchmark::State& state) {
    std::vector<Meeting> meetings(50, World::get().meeting);
    std::string out;
    for (auto _ : state) {
        out.clear();
        JsonWriter w(out);
        w.begin_array();
        for (const Meeting& m : meetings) api::write_meeting(w, m);
        w.end_array();
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_JsonMeetingList50);

// A hit in the verified-Basic-credential cache (an HMAC of the header, then a map lookup),
// with `state.range(0)` other credentials cached.
void BM_CredentialCacheHit(benchmark::State& state) {
    CredentialCache cache;
    for (std::int64_t i = 0; i < state.range(0); ++i)
        cache.remember("Basic other" + std::to_string(i), i + 2, "hash", std::chrono::seconds(300));
    const std::string header = World::get().basic_header;
    cache.remember(header, 1, "hash", std::chrono::seconds(300));
    for (auto _ : state) benchmark::DoNotOptimize(cache.find(header));
}
BENCHMARK(BM_CredentialCacheHit)->Arg(0)->Arg(10000);

void BM_CredentialCacheMiss(benchmark::State& state) {
    CredentialCache cache;
    const std::string header = World::get().basic_header;
    for (auto _ : state) benchmark::DoNotOptimize(cache.find(header));
}
BENCHMARK(BM_CredentialCacheMiss);

// The digest a session cookie is looked up by.
void BM_SessionKeyHash(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(session_key_hash(kSessionKey));
}
BENCHMARK(BM_SessionKeyHash);

// Who is asking: a session cookie (digest, session row, user row) and a cached Basic
// credential (cache hit, user row), both on SQLite.
void authenticate_with(benchmark::State& state, std::string name, AuthMethod expected) {
    World& world = World::get();
    std::string value = name == "Cookie" ? session_cookie() : world.basic_header;
    FakeRequest fake(http::Method::get, "/api/meetings/1/", {{name, value}});
    for (auto _ : state) {
        Authentication auth = run(world.io, authenticate(fake.req, *world.loop));
        if (auth.method != expected) state.SkipWithError("not authenticated");
        benchmark::DoNotOptimize(auth);
    }
}
BENCHMARK_CAPTURE(authenticate_with, session, "Cookie", AuthMethod::session);
BENCHMARK_CAPTURE(authenticate_with, basic_cached, "Authorization", AuthMethod::basic);

// GET /api/meetings/<id>/ with a session cookie, the whole server path but the socket and
// Beast's parsing: what one core could do with no network at all.
void BM_ReadMeetingInProcess(benchmark::State& state) {
    World& world = World::get();
    std::string path = "/api/meetings/" + std::to_string(world.meeting.id) + "/";
    FakeRequest fake(http::Method::get, path, {{"Cookie", session_cookie()}});
    for (auto _ : state) {
        http::Response res = run(world.io, api::handle_request(fake.req, *world.loop));
        if (res.status != 200) state.SkipWithError("unexpected status");
        benchmark::DoNotOptimize(res);
    }
}
BENCHMARK(BM_ReadMeetingInProcess);

// A chat message as both WebSocket protocols frame it (the compatible and the castera.v2
// payload), encoded once per message and shared by every receiver.
void BM_ChatFrame(benchmark::State& state) {
    Message message{.id = 123456,
                    .meeting_id = 42,
                    .user_id = 7,
                    .user_email = "someone@example.com",
                    .content = "I'll share my screen in a second.",
                    .timestamp = now_utc()};
    for (auto _ : state) benchmark::DoNotOptimize(chat_event(message));
}
BENCHMARK(BM_ChatFrame);

// Fan-out of one event to a room of `state.range(0)` members that only count what they get,
// all on the loop that broadcasts.
class CountingMember final : public RoomMember {
public:
    CountingMember(int n, bool typed, Loop loop) : RoomMember("peer" + std::to_string(n), n, "p@example.com", typed, loop) {}
    void deliver(Frame frame) override { deliver_here(frame); }
    void deliver_here(const Frame& frame) override { received += frame ? 1 : 0; }
    void close_after_queue(std::uint16_t, std::string) override {}
    long received = 0;
};

void BM_RoomBroadcast(benchmark::State& state) {
    boost::asio::io_context io;
    RoomHub hub;
    std::vector<std::shared_ptr<CountingMember>> members;
    for (int i = 0; i < state.range(0); ++i) {
        members.push_back(std::make_shared<CountingMember>(i, i % 2 == 0, io.get_executor()));
        hub.join(1, members.back(), 1 << 20, 1 << 20);
    }
    Message message{.id = 1, .meeting_id = 1, .user_id = 1, .user_email = "a@example.com", .content = "hello"};
    RoomEvent event = chat_event(message);
    boost::asio::post(io, [&] {
        for (auto _ : state) hub.broadcast(1, event);
    });
    io.run();
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RoomBroadcast)->Arg(10)->Arg(100);

}  // namespace
}  // namespace castera

BENCHMARK_MAIN();
