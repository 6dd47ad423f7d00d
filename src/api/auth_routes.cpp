// /api/auth/login/, logout/, me/: session sign-in for browser clients.
#include "api/common.hpp"
#include "api/handlers.hpp"
#include "api/serializers.hpp"
#include "http/body.hpp"

namespace castera::api {

Task<http::Response> login(RequestContext& ctx) {
    // A login posted from another site would sign the visitor in as the attacker.
    if (auto refused = ctx.deps.origins.check_login_origin(ctx.req)) co_return std::move(*refused);
    boost::json::object data;
    if (auto refused = http::parse_body(ctx.req, data)) co_return std::move(*refused);
    validation::FieldErrors errors;
    auto email = validation::read_char(data, "email", validation::CharRule{}, validation::Mode::full, errors);
    auto password = validation::read_char(data, "password", validation::CharRule{.trim_whitespace = false},
                                          validation::Mode::full, errors);
    if (!errors.empty()) co_return field_errors_response(errors);

    auto user = co_await ctx.services().accounts.sign_in_with_password(std::move(email.value), std::move(password.value),
                                                                       ctx.req.remote_address);
    if (!user) {
        if (user.refusal().kind == services::Refusal::Kind::throttled)
            co_return http::throttled_response(user.refusal().retry_after);
        co_return http::json_response(400, "{\"non_field_errors\":[\"Unable to log in with provided credentials.\"]}");
    }
    http::Response res;
    co_await start_session(ctx.services().accounts, ctx.deps.cookies, ctx.req, *user, res);
    JsonWriter w(res.body);
    write_me(w, *user);
    co_return res;
}

Task<http::Response> logout(RequestContext& ctx) {
    http::Response res = http::json_response(200, "{\"detail\":\"Successfully logged out.\"}");
    co_await end_session(ctx.services().accounts, ctx.req, res);
    co_return res;
}

Task<http::Response> me(RequestContext& ctx) { co_return object_response(200, ctx.caller(), write_me); }

}  // namespace castera::api
