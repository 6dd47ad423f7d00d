// /api/schema/: the OpenAPI 3.1 document (web/api/openapi.json, compiled into the binary),
// as JSON or, with ?format=yaml, as YAML. The readable page of it is /api/docs/ (web/api/docs/,
// served by web/static_files).

#include <boost/json/parse.hpp>

#include "api/common.hpp"
#include "api/handlers.hpp"
#include "util/json_yaml.hpp"
#include "web/embedded_files.hpp"

namespace castera::api {
namespace {

constexpr std::string_view kDocumentPath = "api/openapi.json";

const web::EmbeddedFile& document() {
    static const web::EmbeddedFile* file = web::find_embedded_file(kDocumentPath);
    if (!file) throw std::logic_error("the OpenAPI document is missing from the binary");
    return *file;
}

// Made once, on the first request for it (a thread-safe static): the document never changes.
const std::string& document_as_yaml() {
    static const std::string yaml = json_to_yaml(boost::json::parse(document().bytes));
    return yaml;
}

}  // namespace

Task<http::Response> api_schema(RequestContext& ctx) {
    std::string format;
    http::query_param(ctx.req.query, "format", format);
    http::Response res;
    if (format.empty() || format == "json") {
        res.body.assign(document().bytes);
    } else if (format == "yaml") {
        res.body = document_as_yaml();
        res.content_type = "application/yaml";
    } else {
        co_return http::error_response(400, "Unknown format; use ?format=json or ?format=yaml.");
    }
    res.add_header("ETag", std::string(document().etag));
    res.add_header("Cache-Control", "no-cache");
    co_return res;
}

}  // namespace castera::api
