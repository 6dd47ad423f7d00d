// What the fuzz targets that need a database share: an in-memory store (the one the unit
// tests use, held to the same contract as SQLite and PostgreSQL) filled with a few users,
// meetings, chats and credentials whose secrets are fixed here, so that the seed corpora can
// carry working session cookies, API tokens, Basic credentials and room ids.
#pragma once

#include <string>
#include <string_view>

#include "auth/password.hpp"
#include "fuzz_keys.hpp"
#include "memory_store.hpp"
#include "run_task.hpp"
#include "services/services.hpp"
#include "util/encoding.hpp"
#include "util/time.hpp"

namespace castera::fuzz {

// Passwords are hashed with one PBKDF2 round: a Basic login costs microseconds, not 600k rounds.
inline constexpr int kPasswordIterations = 1;

// The seeded world's ids. The in-memory store numbers every row from one counter: users 1 to 4,
// alice's API token 5, the meetings 6 (alice's, public) and 7 (bob's, private), chats 8 and 9,
// the recording 10. The seed corpora use these numbers.
inline constexpr Id kAdminId = 1, kAliceId = 2, kBobId = 3, kCarolId = 4;
inline constexpr Id kTokenId = 5, kMeetingOne = 6, kMeetingTwo = 7;

// The seeded credentials.
inline constexpr std::string_view kAdminEmail = "admin@example.com";
inline constexpr std::string_view kAdminPassword = "admin-password";
inline constexpr std::string_view kAliceEmail = "alice@example.com";
inline constexpr std::string_view kAlicePassword = "alice-password";
inline constexpr std::string_view kAdminSession = "fuzzadminsession0000000000000000";
inline constexpr std::string_view kAliceSession = "fuzzalicesession0000000000000000";
inline constexpr std::string_view kAliceToken = "cst_fuzzalicetoken0000000000000000000000000000";
inline constexpr std::string_view kRoomOne = "11111111-1111-4111-8111-111111111111";
inline constexpr std::string_view kRoomTwo = "22222222-2222-4222-8222-222222222222";


using testing::run_task;

// A user with a cheap password hash.
inline User seed_user(Store& store, std::string_view email, std::string_view password, std::string role,
                      bool staff, bool active = true) {
    return run_task(store.create_user(NewUser{.email = std::string(email),
                                              .password = make_password(password, kPasswordIterations),
                                              .role = std::move(role),
                                              .is_active = active,
                                              .is_staff = staff,
                                              .is_superuser = staff}));
}

// A session that lasts far beyond any fuzzing run.
inline void seed_session(Store& store, std::string_view key, Id user) {
    run_task(store.create_session(
        Session{services::session_key_hash(key), user, now_utc() + std::chrono::hours(24 * 365)}));
}

// The seeded world: an admin, two users and an inactive one; a public and a private meeting
// with chats, a recording and participant state; a session each for the admin and alice, and
// an API token of alice's.
inline void seed(testing::MemoryStore& store) {
    User admin = seed_user(store, kAdminEmail, kAdminPassword, "admin", true);
    User alice = seed_user(store, kAliceEmail, kAlicePassword, "user", false);
    User bob = seed_user(store, "bob@example.com", "bob-password", "user", false);
    seed_user(store, "carol@example.com", "carol-password", "user", false, false);
    seed_session(store, kAdminSession, admin.id);
    seed_session(store, kAliceSession, alice.id);
    run_task(store.create_api_token(ApiToken{.user_id = alice.id,
                                             .name = "fuzz",
                                             .key_hash = services::api_token_hash(kAliceToken),
                                             .prefix = std::string(kAliceToken.substr(0, 12))}));
    Meeting one = run_task(store.create_meeting(
        Meeting{.title = "Standup", .room_id = std::string(kRoomOne), .user_id = alice.id}));
    run_task(store.create_meeting(Meeting{
        .title = "Private", .type_of = "private", .room_id = std::string(kRoomTwo), .user_id = bob.id}));
    run_task(store.create_message(one.id, alice.id, "hello"));
    run_task(store.create_message(one.id, bob.id, "hi there"));
    run_task(store.create_recording(one.id, alice.id, "https://cdn.example.com/rec/1.webm"));
    run_task(store.set_participant_flag(one.id, bob.id, ParticipantFlag::raised_hand, true));
}

// Puts `store` back to the seeded world while keeping its change stamp moving forward, so that
// caches keyed by the stamp (the loop's AuthCache) never take the new world for the old one.
inline void reset(testing::MemoryStore& store, const testing::MemoryStore& seeded) {
    int commits = store.commits;
    store = seeded;
    store.commits = commits + 1;
}

}  // namespace castera::fuzz
