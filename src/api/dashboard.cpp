// /api/dashboard/: the caller's own figures and meetings.
#include "api/handlers.hpp"
#include "api/serializers.hpp"

namespace castera::api {

Task<http::Response> dashboard(RequestContext& ctx) {
    const User& user = ctx.caller();
    OwnerTotals totals = co_await ctx.store().owner_totals(user.id);
    MeetingQuery query{.owner = user.id, .order = MeetingQuery::Order::id_ascending};
    auto meetings = co_await ctx.store().list_meetings(query);
    http::Response res;
    res.body.reserve(160 + meetings.rows.size() * 320);
    JsonWriter w(res.body);
    w.begin_object();
    w.field("user_email", user.email);
    w.field("full_name", user.full_name);
    w.field("total_meetings", totals.meetings);
    w.field("total_recordings", totals.recordings);
    w.field("total_messages", totals.messages);
    w.key("meetings");
    w.begin_array();
    for (const Meeting& m : meetings.rows) write_meeting(w, m);
    w.end_array();
    w.end_object();
    co_return res;
}

}  // namespace castera::api
