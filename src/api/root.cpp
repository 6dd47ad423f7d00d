// The API root and the service routes.
#include "api/handlers.hpp"
#include "api/serializers.hpp"
#include "http/responses.hpp"
#include "observe/prometheus.hpp"
#include "realtime/ice_servers.hpp"
#include "util/encoding.hpp"
#include "util/time.hpp"

namespace castera::api {

// As DRF's DefaultRouter root: the registered resources, as absolute URLs.
Task<http::Response> api_root(RequestContext& ctx) {
    http::Response res;
    JsonWriter w(res.body);
    w.begin_object();
    w.field("meetings", absolute_url(ctx.req, "/api/meetings/"));
    w.end_object();
    co_return res;
}

Task<http::Response> healthz(RequestContext&) { co_return http::json_response(200, "{\"status\":\"ok\"}"); }

namespace {

// "webhooks": how many events wait to be delivered, and how long the oldest has waited.
void write_webhook_backlog(JsonWriter& w, const WebhookBacklog& backlog) {
    w.key("webhooks");
    w.begin_object();
    w.field("pending", backlog.pending);
    w.key("oldest_pending_seconds");
    if (backlog.oldest) {
        auto age = std::chrono::duration_cast<std::chrono::seconds>(now_utc() - *backlog.oldest).count();
        w.value(static_cast<std::int64_t>(std::max<std::int64_t>(0, age)));
    } else {
        w.null();
    }
    w.end_object();
}

}  // namespace

// 503 only when the database is down. Redis being down is reported ("bus":"down", status
// "degraded") with 200: every instance shares the one Redis, so taking them out of the load
// balancer would turn rooms limited to one instance into no service at all.
Task<http::Response> readyz(RequestContext& ctx) {
    bool database = co_await ctx.services().database_ready();
    BusState bus = ctx.deps.bus.state();
    http::Response res = http::json_response(database ? 200 : 503, "");
    JsonWriter w(res.body);
    w.begin_object();
    w.field("status", !database ? "unavailable" : bus == BusState::down ? "degraded" : "ready");
    w.field("database", database ? "ok" : "down");
    w.field("bus", bus_state_name(bus));
    if (database && ctx.deps.webhooks_enabled) {
        std::optional<WebhookBacklog> backlog = co_await ctx.services().webhook_backlog();
        if (backlog) write_webhook_backlog(w, *backlog);
    }
    w.end_object();
    co_return res;
}

// STUN and TURN for the signed-in user's browser; TURN credentials last CASTERA_TURN_TTL_SECONDS.
Task<http::Response> ice_servers(RequestContext& ctx) {
    http::Response res;
    JsonWriter w(res.body);
    w.begin_object();
    w.key("ice_servers");
    realtime::write_ice_servers(w, ctx.deps.ice, ctx.caller().id, std::chrono::system_clock::now());
    w.field("ttl", static_cast<std::int64_t>(ctx.deps.ice.turn_ttl.count()));
    w.end_object();
    co_return res;
}

// Prometheus' scrape. With CASTERA_METRICS_TOKEN set, only "Authorization: Bearer <token>"
// sees it (compared in constant time): the figures tell an outsider how busy castera is.
Task<http::Response> metrics(RequestContext& ctx) {
    std::string_view token = ctx.deps.metrics.bearer_token();
    if (!token.empty()) {
        std::string expected = "Bearer " + std::string(token);
        std::string_view given = ctx.req.header("Authorization");
        if (!constant_time_equals(given, expected)) {
            http::Response refused = http::error_response(401, "Authentication credentials were not provided.");
            refused.add_header("WWW-Authenticate", "Bearer realm=\"metrics\"");
            co_return refused;
        }
    }
    http::Response res;
    res.body = ctx.deps.metrics.exposition();
    res.content_type = prometheus::kContentType;
    res.add_header("Cache-Control", "no-store");
    co_return res;
}

}  // namespace castera::api
