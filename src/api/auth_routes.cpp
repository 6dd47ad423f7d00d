// /api/auth/login/, logout/, me/: session sign-in for browser clients.
#include "api/fields.hpp"
#include "api/handlers.hpp"
#include "api/serializers.hpp"
#include "auth/sessions.hpp"
#include "http/body.hpp"
#include "http/responses.hpp"
#include "util/time.hpp"

namespace castera::api {

Task<http::Response> login(RequestContext& ctx) {
    // A login posted from another site would sign the visitor in as the attacker.
    if (auto refused = check_login_origin(ctx.req, ctx.config())) co_return std::move(*refused);
    boost::json::object data;
    if (auto refused = http::parse_body(ctx.req, data)) co_return std::move(*refused);
    FieldErrors errors;
    auto email = read_char(data, "email", CharRule{}, Mode::full, errors);
    auto password = read_char(data, "password", CharRule{.trim_whitespace = false}, Mode::full, errors);
    if (!errors.empty()) co_return errors.response();

    LoginThrottle& throttle = ctx.app().login_throttle;
    if (auto wait = throttle.wait_time(email.value, ctx.req.remote_address)) co_return http::throttled_response(wait->count());
    auto user = co_await ctx.store().find_user_by_email(email.value);
    bool valid = false;
    if (user) valid = co_await check_password_off_loop(ctx.loop, std::move(password.value), user->password);
    if (!valid) throttle.record_failure(email.value, ctx.req.remote_address);
    else throttle.record_success(email.value);
    if (!valid || !user->is_active)
        co_return http::json_response(400, "{\"non_field_errors\":[\"Unable to log in with provided credentials.\"]}");

    http::Response res;
    co_await start_session(ctx.loop, ctx.req, *user, res);
    co_await ctx.store().touch_last_login(user->id, now_utc());
    JsonWriter w(res.body);
    write_me(w, *user);
    co_return res;
}

Task<http::Response> logout(RequestContext& ctx) {
    http::Response res = http::json_response(200, "{\"detail\":\"Successfully logged out.\"}");
    co_await end_session(ctx.loop, ctx.req, res);
    co_return res;
}

Task<http::Response> me(RequestContext& ctx) { co_return object_response(200, ctx.caller(), write_me); }

}  // namespace castera::api
