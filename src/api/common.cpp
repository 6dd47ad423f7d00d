#include "api/common.hpp"

#include "util/json_writer.hpp"

namespace castera::api {

http::Response message_response(std::string_view message) {
    http::Response res;
    JsonWriter w(res.body);
    w.begin_object();
    w.field("message", message);
    w.end_object();
    return res;
}

http::Response field_errors_response(const validation::FieldErrors& errors) {
    http::Response res;
    res.status = 400;
    JsonWriter w(res.body);
    errors.write_json(w);
    return res;
}

http::Response refusal_response(const services::Refusal& refusal) {
    using Kind = services::Refusal::Kind;
    auto detail = [&](std::string_view usual) { return refusal.detail.empty() ? usual : std::string_view(refusal.detail); };
    switch (refusal.kind) {
        case Kind::not_found: return http::error_response(404, detail(http::kNotFound));
        case Kind::forbidden: return http::error_response(403, detail(http::kNoPermission));
        case Kind::invalid: return field_errors_response(refusal.fields);
        case Kind::conflict: return http::error_response(400, detail("It conflicts with what exists."));
        case Kind::throttled: return http::throttled_response(refusal.retry_after);
        case Kind::bad_credentials: return http::error_response(403, detail("Invalid username/password."));
        case Kind::inactive: return http::error_response(403, detail("User inactive or deleted."));
    }
    return http::error_response(400, detail("Bad request."));
}

}  // namespace castera::api
