// Fuzz target: the bytes a client sends on a connection, through the path http/server.cpp runs
// them: Beast's parser with the configured limits (one request after another, as keep-alive
// reads them), the Host check, then the router (authentication by session cookie, Basic, API
// token or Clerk JWT; CSRF; the route's access; the handler with its body, form and query
// parsing) on an App over the seeded in-memory store, or for an upgrade the router's decision.
// The store is put back to the seeded world before every input.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>

#include "api/router.hpp"
#include "app/app.hpp"
#include "app_config.hpp"
#include "fuzz_world.hpp"
#include "http/beast_io.hpp"
#include "http/request_id.hpp"
#include "observe/log.hpp"

namespace {

using namespace castera;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// More requests than this in one input add nothing a shorter input would not find.
constexpr int kMaxRequestsPerInput = 8;

// Stores on copies of one seeded world, put back to it on demand.
class SeededStores final : public StoreFactory {
public:
    SeededStores() { fuzz::seed(seeded_); }
    void migrate() override {}
    std::unique_ptr<Store> make_store() override {
        auto store = std::make_unique<testing::MemoryStore>(seeded_);
        made_.push_back(store.get());
        return store;
    }
    std::string describe() const override { return "memory"; }
    void reset_all() {
        for (testing::MemoryStore* store : made_) fuzz::reset(*store, seeded_);
    }

private:
    testing::MemoryStore seeded_;
    std::vector<testing::MemoryStore*> made_;
};

// The App and its one loop, made once: building them per input would cost more than the input.
struct World {
    World() {
        log::configure(log::Level::error, log::Format::text);
        log::configure_access(false);
    }
    std::unique_ptr<SeededStores> owned = std::make_unique<SeededStores>();
    SeededStores& stores = *owned;
    App app{fuzz::app_config(), std::move(owned)};
    asio::io_context io;
    std::unique_ptr<Loop> loop = app.make_loop(io);
};

World& world() {
    static World w;
    return w;
}

// Runs a router call to its end on the loop, with whatever it set going. The router promises
// never to throw: an exception escaping it is a finding, so it is rethrown.
template <typename T>
T run_on_loop(World& w, Task<T> task) {
    std::optional<T> result;
    std::exception_ptr failure;
    asio::co_spawn(w.io, std::move(task), [&](std::exception_ptr e, T value) {
        failure = e;
        result = std::move(value);
    });
    w.io.run();
    w.io.restart();
    if (failure) std::rethrow_exception(failure);
    return std::move(*result);
}

// Feeds `rest` to the parser until `enough` holds, taking what it used off the front; at the
// end of the bytes (or when the parser takes nothing more from them) it is told the connection
// closed, as a socket would tell it.
template <typename Enough>
beast::error_code feed(bhttp::request_parser<bhttp::string_body>& parser, std::string_view& rest, Enough enough) {
    beast::error_code ec;
    while (!enough()) {
        std::size_t used = rest.empty() ? 0 : parser.put(asio::const_buffer(rest.data(), rest.size()), ec);
        rest.remove_prefix(used);
        if (ec && ec != bhttp::error::need_more) return ec;
        ec = {};
        if (used > 0) continue;  // more may follow, or the parser is done with what it took
        parser.put_eof(ec);
        if (!ec && !enough()) ec = bhttp::error::partial_message;
        return ec;
    }
    return ec;
}

// CASTERA_FUZZ_VERBOSE=1 prints each answer's status and route, to check what seeds reach.
void trace(const http::Response& res) {
    static const bool verbose = std::getenv("CASTERA_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "-> %u %.*s\n", res.status, int(res.route.size()), res.route.data());
}

// A JSON answer must be JSON whatever was asked: a serializer that forgot to escape
// something shows up here.
void check_answer(const http::Response& res, unsigned version, bool keep_alive) {
    trace(res);
    std::string head = http::response_head(res, version, keep_alive);
    if (res.content_type != "application/json" || res.body.empty()) return;
    boost::system::error_code ec;
    boost::json::parse(res.body, ec);
    if (ec) __builtin_trap();
}

// One request as serve_connection handles it; false when the connection would end after it.
bool serve_one(World& w, const http::BeastRequest& req) {
    http::Request view = http::make_request_view(req, "203.0.113.7");
    if (beast::websocket::is_upgrade(req)) {
        auto decision = run_on_loop(w, api::admit_upgrade(view, w.loop->api));
        if (auto* refusal = std::get_if<http::Response>(&decision)) check_answer(*refusal, req.version(), false);
        return false;
    }
    std::string request_id = http::request_id_for(view.header("X-Request-ID"));
    http::Response res = run_on_loop(w, api::handle_request(view, w.loop->api));
    res.add_header("X-Request-ID", request_id);
    check_answer(res, req.version(), req.keep_alive());
    return req.keep_alive();
}

// The requests of one connection, until one cannot be read or ends it.
void serve_connection(World& w, std::string_view rest) {
    const Config& config = w.app.config;
    for (int i = 0; i < kMaxRequestsPerInput && !rest.empty(); ++i) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
        parser.body_limit(config.max_body_bytes);
        beast::error_code ec = feed(parser, rest, [&] { return parser.is_header_done(); });
        if (!ec && (!http::has_valid_host(parser.get()) || !http::has_readable_framing(parser.get())))
            return check_answer(http::read_error_response(ec), 11, false);
        if (!ec) ec = feed(parser, rest, [&] { return parser.is_done(); });
        if (ec) return check_answer(http::read_error_response(ec), 11, false);
        if (!serve_one(w, parser.get())) return;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    World& w = world();
    w.stores.reset_all();
    serve_connection(w, std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
