// Small pieces several handlers share.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string_view>

#include "api/context.hpp"
#include "http/responses.hpp"

namespace castera::api {

// The meeting named by the path's {id}, or nothing (answer 404).
Task<std::optional<Meeting>> find_path_meeting(RequestContext& ctx);

// Owner-only routes: the owner, or an admin (role "admin").
inline bool may_manage(const User& user, const Meeting& meeting) {
    return user.is_admin() || meeting.user_id == user.id;
}

// {"message": "..."} with 200, the shape of the old action routes.
http::Response message_response(std::string_view message);

inline http::Response not_found() { return http::error_response(404, http::kNotFound); }
inline http::Response forbidden() { return http::error_response(403, http::kNoPermission); }

}  // namespace castera::api
