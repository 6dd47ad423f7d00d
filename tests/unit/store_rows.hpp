// Rows the store tests start from: a user with an unusable password, a meeting of an owner.
#pragma once

#include <string>

#include "run_task.hpp"
#include "util/time.hpp"

namespace castera::testing {

inline User add_user(Store& store, const std::string& email) {
    NewUser u;
    u.email = email;
    u.password = "!unusable";
    return run_task(store.create_user(u));
}

inline Meeting add_meeting(Store& store, Id owner, const std::string& title, TimePoint when = now_utc()) {
    Meeting m;
    m.title = title;
    m.user_id = owner;
    m.scheduled_date = when;
    return run_task(store.create_meeting(m));
}

}  // namespace castera::testing
