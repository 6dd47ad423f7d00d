// The API root and the service routes.
#include "api/handlers.hpp"
#include "api/serializers.hpp"
#include "http/responses.hpp"

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
    w.end_object();
    co_return res;
}

}  // namespace castera::api
