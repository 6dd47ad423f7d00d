// Fuzz target: the URLs castera reads from its configuration: CASTERA_DATABASE_URL (the SQLite
// path forms, and PostgreSQL URLs as libpq parses them for the log's description),
// CASTERA_REDIS_URL, the webhook endpoints, and the URL rule of the API's URL fields. Each must
// either give a value or refuse with its error, and what it gives must keep its promises.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "config/config.hpp"
#include "store/store.hpp"
#include "util/validate.hpp"
#include "webhooks/endpoint.hpp"

namespace {

using namespace castera;

// A broken promise of a parser: libFuzzer reports it as a crash.
void expect(bool holds) {
    if (!holds) __builtin_trap();
}

// A store factory is only made: nothing is opened or connected.
void database_url(const std::string& url) {
    try {
        std::unique_ptr<StoreFactory> factory = make_store_factory(url);
        expect(!factory->describe().empty());
    } catch (const std::invalid_argument&) {
    }
}

void redis_url(const std::string& url) {
    try {
        Config::Redis redis = parse_redis_url(url);
        expect(!redis.host.empty() && redis.port >= 1 && redis.db >= 0);
    } catch (const ConfigError&) {
    }
}

void webhook_url(std::string_view url) {
    std::optional<webhooks::Endpoint> endpoint = webhooks::parse_endpoint(url);
    if (!endpoint) return;
    expect(!endpoint->host.empty() && endpoint->port != 0 && endpoint->target.starts_with('/'));
    webhooks::is_loopback_host(endpoint->host);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string url(reinterpret_cast<const char*>(data), size);
    database_url(url);
    redis_url(url);
    webhook_url(url);
    is_valid_url(url);
    return 0;
}
