// The admin console's static files (web/admin/), compiled into the binary by
// cmake/embed.cmake: served at /admin/static/<path>.
#pragma once

#include <string_view>

namespace castera::embedded {

// The file's bytes by its path under web/admin/ ("admin.css"); empty for any other path.
std::string_view admin_assets(std::string_view path);

}  // namespace castera::embedded
