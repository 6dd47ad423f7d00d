#include "http/responses.hpp"

#include "util/json_writer.hpp"

namespace castera::http {

Response detail_response(unsigned status, std::string_view detail) {
    Response res;
    res.status = status;
    res.body.reserve(detail.size() + 16);
    JsonWriter w(res.body);
    w.begin_object();
    w.field("detail", detail);
    w.end_object();
    return res;
}

Response validation_error_response(std::string_view field, std::string_view message) {
    Response res;
    res.status = 400;
    JsonWriter w(res.body);
    w.begin_object();
    w.key(field);
    w.begin_array();
    w.value(message);
    w.end_array();
    w.end_object();
    return res;
}

Response json_response(unsigned status, std::string body) {
    Response res;
    res.status = status;
    res.body = std::move(body);
    return res;
}

Response throttled_response(long seconds) {
    Response res = error_response(429, "Request was throttled. Expected available in " + std::to_string(seconds) +
                                           (seconds == 1 ? " second." : " seconds."));
    res.add_header("Retry-After", std::to_string(seconds));
    return res;
}

}  // namespace castera::http
