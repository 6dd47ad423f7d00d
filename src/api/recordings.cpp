// /api/meetings/<id>/recordings/: links to a meeting's recordings.
#include "api/common.hpp"
#include "api/fields.hpp"
#include "api/handlers.hpp"
#include "api/serializers.hpp"
#include "http/body.hpp"

namespace castera::api {

Task<http::Response> list_recordings(RequestContext& ctx) {
    auto meeting = co_await find_path_meeting(ctx);
    if (!meeting) co_return not_found();
    if (!may_manage(ctx.caller(), *meeting)) co_return forbidden();
    PageRequest page = page_request(ctx.req);
    auto rows = co_await ctx.store().list_recordings(meeting->id, page.limit, page.offset);
    co_return list_response(ctx, page, rows, write_recording);
}

Task<http::Response> create_recording(RequestContext& ctx) {
    auto meeting = co_await find_path_meeting(ctx);
    if (!meeting) co_return not_found();
    if (!may_manage(ctx.caller(), *meeting)) co_return forbidden();
    boost::json::object data;
    if (auto refused = http::parse_body(ctx.req, data)) co_return std::move(*refused);
    FieldErrors errors;
    auto file_url = read_url(data, "file_url", 200, errors);
    if (!errors.empty()) co_return errors.response();
    Recording stored = co_await ctx.store().create_recording(meeting->id, ctx.caller().id, std::move(file_url.value));
    co_return object_response(201, stored, write_recording);
}

}  // namespace castera::api
