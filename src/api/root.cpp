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

Task<http::Response> readyz(RequestContext& ctx) {
    bool database = false;
    try {
        database = co_await ctx.store().ping();
    } catch (const std::exception&) {
        database = false;
    }
    co_return http::json_response(database ? 200 : 503, database ? "{\"status\":\"ready\",\"database\":\"ok\"}"
                                                                 : "{\"status\":\"unavailable\",\"database\":\"down\"}");
}

}  // namespace castera::api
