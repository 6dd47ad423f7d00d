// /api/auth/tokens/: API tokens for scripts and bots. The key is shown once, when created;
// the store keeps only its SHA-256.
#include "api/common.hpp"
#include "api/handlers.hpp"
#include "api/serializers.hpp"
#include "http/body.hpp"
#include "util/time.hpp"

namespace castera::api {
namespace {

using validation::FieldErrors;
using validation::Mode;

constexpr std::int64_t kMaxLifetimeDays = 3650;

void write_token(JsonWriter& w, const ApiToken& t) {
    w.begin_object();
    w.field("id", t.id);
    w.field("name", t.name);
    w.field("prefix", t.prefix);
    w.field("created_at", iso8601_text(t.created_at).view());
    write_time_or_null(w, "expires_at", t.expires_at);
    write_time_or_null(w, "last_used_at", t.last_used_at);
}

// "expires_at" (a datetime in the future) or "expires_in_days" (1..3650); neither: no expiry.
std::optional<TimePoint> read_expiry(const boost::json::object& data, FieldErrors& errors) {
    auto at = validation::read_datetime(data, "expires_at", false, Mode::partial, errors);
    if (at.present && at.ok) {
        if (at.value <= now_utc()) errors.add("expires_at", "The expiry must be in the future.");
        return at.value;
    }
    auto days = data.find("expires_in_days");
    if (days == data.end() || days->value().is_null()) return std::nullopt;
    const auto& v = days->value();
    if (!v.is_int64() || v.get_int64() < 1 || v.get_int64() > kMaxLifetimeDays) {
        errors.add("expires_in_days", "Ensure this value is a whole number from 1 to 3650.");
        return std::nullopt;
    }
    return now_utc() + std::chrono::days(v.get_int64());
}

}  // namespace

Task<http::Response> list_api_tokens(RequestContext& ctx) {
    std::vector<ApiToken> tokens = co_await ctx.services().accounts.list_tokens(ctx.caller());
    http::Response res;
    JsonWriter w(res.body);
    w.begin_array();
    for (const auto& t : tokens) {
        write_token(w, t);
        w.end_object();
    }
    w.end_array();
    co_return res;
}

Task<http::Response> create_api_token(RequestContext& ctx) {
    // Refused before the body is read: a leaked token must not even probe the form.
    if (ctx.auth == AuthMethod::token)
        co_return http::error_response(403, "An API token cannot create API tokens; sign in another way.");
    boost::json::object data;
    if (auto refused = http::parse_body(ctx.req, data)) co_return std::move(*refused);
    FieldErrors errors;
    auto name = validation::read_char(data, "name", validation::CharRule{.max_length = 100}, Mode::full, errors);
    std::optional<TimePoint> expires = read_expiry(data, errors);
    if (!errors.empty()) co_return field_errors_response(errors);
    auto made = co_await ctx.services().accounts.create_token(ctx.caller(), ctx.auth == AuthMethod::token,
                                                              std::move(name.value), expires);
    if (!made) co_return refusal_response(made.refusal());
    http::Response res;
    res.status = 201;
    JsonWriter w(res.body);
    write_token(w, made->token);
    w.field("token", made->key);
    w.end_object();
    co_return res;
}

Task<http::Response> delete_api_token(RequestContext& ctx) {
    auto deleted = co_await ctx.services().accounts.delete_token(ctx.caller(), ctx.id);
    if (!deleted) co_return refusal_response(deleted.refusal());
    http::Response res;
    res.status = 204;
    co_return res;
}

}  // namespace castera::api
