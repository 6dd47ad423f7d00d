// The webhook deliveries, for staff: GET /api/webhooks/events/?status=pending|failed|delivered
// and POST /api/webhooks/events/<id>/retry/.
#include "api/common.hpp"
#include "api/handlers.hpp"
#include "api/serializers.hpp"
#include "http/responses.hpp"
#include "util/time.hpp"

namespace castera::api {
namespace {

// Without ?limit=, the newest deliveries up to this many.
constexpr std::int64_t kDefaultListing = 100;

void write_delivery(JsonWriter& w, const WebhookEvent& e) {
    w.begin_object();
    w.field("id", e.id);
    w.field("event_id", e.event_id);
    w.field("type", e.type);
    w.field("endpoint", e.endpoint);
    w.field("meeting", e.meeting_id);
    w.field("status", e.status);
    w.field("attempts", e.attempts);
    w.key("last_status");
    if (e.last_status) w.value(*e.last_status);
    else w.null();
    w.field("last_error", e.last_error);
    w.field("created_at", iso8601_text(e.created_at).view());
    write_time_or_null(w, "next_attempt_at", e.status == "pending" ? std::optional(e.next_attempt_at) : std::nullopt);
    write_time_or_null(w, "delivered_at", e.delivered_at);
    w.key("payload");
    w.raw(e.body);  // the JSON castera signs and sends
    w.end_object();
}

}  // namespace

Task<http::Response> list_webhook_events(RequestContext& ctx) {
    std::string status;
    http::query_param(ctx.req.query, "status", status);
    PageRequest page = page_request(ctx.req);
    auto rows = co_await ctx.services().webhooks.list(ctx.caller(), std::move(status),
                                                      page.limit.value_or(kDefaultListing), page.offset);
    if (!rows) co_return refusal_response(rows.refusal());
    co_return list_response(ctx.req, page, *rows, write_delivery);
}

Task<http::Response> retry_webhook_event(RequestContext& ctx) {
    auto retried = co_await ctx.services().webhooks.retry(ctx.caller(), ctx.id);
    if (!retried) co_return refusal_response(retried.refusal());
    co_return http::json_response(200, "{\"status\":\"pending\"}");
}

}  // namespace castera::api
