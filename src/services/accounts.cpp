// Accounts: password sign-in, sessions, external identities, user management, API tokens.
#include "auth/credential_cache.hpp"
#include "auth/password.hpp"
#include "auth/throttle.hpp"
#include "services/audit.hpp"
#include "services/services.hpp"
#include "util/async_reply.hpp"
#include "util/encoding.hpp"
#include "util/random.hpp"
#include "util/time.hpp"
#include "util/validate.hpp"

namespace castera::services {
namespace {

constexpr std::string_view kTokenKeyPrefix = "cst_";
constexpr std::size_t kTokenKeyRandomLength = 40;  // ~238 bits from [a-zA-Z0-9]
constexpr std::size_t kTokenShownPrefixLength = 8;

}  // namespace

std::string api_token_hash(std::string_view key) { return sha256_hex(key); }
std::string session_key_hash(std::string_view key) { return sha256_hex(key); }

// Not coroutines: the strings move straight into the job, never through a frame.
Task<bool> PasswordHasher::verify(std::string raw, std::string encoded) {
    return run_elsewhere(pool_, [raw = std::move(raw), encoded = std::move(encoded)] {
        return is_usable_password(encoded) && check_password(raw, encoded);
    });
}

Task<std::string> PasswordHasher::hash(std::string raw) {
    return run_elsewhere(pool_, [raw = std::move(raw), iterations = iterations_] { return make_password(raw, iterations); });
}

Task<Outcome<User>> Accounts::sign_in_with_password(std::string email, std::string password, std::string_view address) {
    LoginThrottle& throttle = deps_.throttle;
    if (auto wait = throttle.wait_time(email, address)) {
        deps_.counters.login_throttled.add();
        co_return Refusal::throttled(wait->count());
    }
    auto user = co_await deps_.store.find_user_by_email(email);
    bool valid = false;
    if (user) valid = co_await deps_.passwords.verify(std::move(password), user->password);
    if (!valid) {
        throttle.record_failure(email, address);
        co_return Refusal{Refusal::Kind::bad_credentials};
    }
    throttle.record_success(email);
    if (!user->is_active) co_return Refusal{Refusal::Kind::inactive};
    co_return std::move(*user);
}

Task<std::string> Accounts::open_session(const User& user, std::string_view old_key, std::chrono::seconds age) {
    std::string key = random_token(32);
    TimePoint now = now_utc();
    Transaction transaction;
    // A session id planted before the login is worthless after it.
    if (!old_key.empty()) transaction.add(write::DeleteSession{session_key_hash(old_key)});
    transaction.add(write::CreateSession{Session{session_key_hash(key), user.id, now + age}});
    transaction.add(write::TouchLastLogin{user.id, now});
    co_await deps_.store.commit(std::move(transaction));
    co_return key;
}

Task<void> Accounts::close_session(std::string_view key) {
    if (!key.empty()) co_await deps_.store.delete_session(session_key_hash(key));
}

Task<User> Accounts::user_for_identity(ExternalIdentity identity) {
    Store& store = deps_.store;
    auto user = co_await store.find_user_by_email(identity.email);
    if (!user) {
        NewUser fresh;
        fresh.email = identity.email;
        fresh.password = make_unusable_password();
        fresh.full_name = identity.full_name;
        fresh.image = identity.image;
        fresh.role = identity.admin ? "admin" : "user";
        try {
            co_return co_await store.create_user(std::move(fresh));
        } catch (const StoreConflict&) {
            // Another request created it a moment ago.
        }
        user = co_await store.find_user_by_email(identity.email);
        if (!user) throw StoreUnavailable("a user created by a token vanished");
        co_return std::move(*user);
    }
    bool changed = false;
    if (identity.full_name && identity.full_name != user->full_name) user->full_name = identity.full_name, changed = true;
    if (identity.image && identity.image != user->image) user->image = identity.image, changed = true;
    if (changed) co_await store.update_user(*user);
    co_return std::move(*user);
}

Task<Outcome<User>> Accounts::create_user(const Actor& actor, NewAccount account) {
    if (!may_manage_users(actor)) co_return Refusal::forbidden();
    if (!is_valid_email(account.email)) co_return Refusal::invalid("email", "Enter a valid email address.");
    if (account.role != "user" && account.role != "admin")
        co_return Refusal::invalid("role", "\"" + account.role + "\" is not a valid choice.");
    // A taken email is refused before the password is hashed (a PBKDF2 run for nothing) and
    // without a transaction that fails; the unique index still decides a race.
    auto taken = co_await deps_.store.find_user_by_email(account.email);
    if (taken) co_return Refusal::conflict("a user with email " + account.email + " already exists");
    NewUser user;
    user.email = std::move(account.email);
    // Not inside a ?: expression: GCC 12 miscompiles a co_await there (docs/DESIGN.md).
    if (account.password) user.password = co_await deps_.passwords.hash(std::move(*account.password));
    else user.password = make_unusable_password();
    user.full_name = std::move(account.full_name);
    user.image = std::move(account.image);
    user.role = std::move(account.role);
    user.is_staff = account.is_staff || account.is_superuser;
    user.is_superuser = account.is_superuser;
    user.is_active = account.is_active;
    std::string email = user.email;
    Transaction transaction;
    Transaction::Ref ref = transaction.add(write::CreateUser{std::move(user)});
    audit_added(transaction, actor, AdminModel::user, ref, email);
    try {
        Committed done = co_await deps_.store.commit(std::move(transaction));
        co_return done.take<User>(ref);
    } catch (const StoreConflict&) {
    }
    co_return Refusal::conflict("a user with email " + email + " already exists");
}

Task<Outcome<Done>> Accounts::change_password(const Actor& actor, const User& user, std::string raw) {
    if (!may_manage_users(actor) && actor.id() != user.id) co_return Refusal::forbidden();
    if (raw.empty()) co_return Refusal::invalid("password", "This field may not be blank.");
    std::string hash = co_await deps_.passwords.hash(std::move(raw));
    // One commit: no moment where the new password works and an old session still does.
    Transaction transaction;
    Transaction::Ref found = transaction.add(write::SetPassword{user.id, std::move(hash)});
    transaction.add(write::DeleteUserSessions{user.id});
    // Django's admin logs a password change with its form's field name, not a label.
    audit_changed(transaction, actor, AdminModel::user, user.id, user.email, change_message({"password"}));
    Committed done = co_await deps_.store.commit(std::move(transaction));
    if (!done.get<bool>(found)) co_return Refusal::not_found();
    deps_.credentials.forget_user(user.id);
    co_return Done{};
}

namespace {

std::vector<std::string> changed_labels(const User& before, const User& after) {
    std::vector<std::string> labels;
    auto note = [&](bool differs, std::string_view field) {
        if (differs) labels.push_back(field_label(field));
    };
    note(before.email != after.email, "email");
    note(before.full_name != after.full_name, "full_name");
    note(before.image != after.image, "image");
    note(before.role != after.role, "role");
    note(before.is_active != after.is_active, "is_active");
    note(before.is_staff != after.is_staff, "is_staff");
    note(before.is_superuser != after.is_superuser, "is_superuser");
    return labels;
}

}  // namespace

Task<Outcome<Done>> Accounts::update_user(const Actor& actor, const User& changed) {
    if (!may_manage_users(actor)) co_return Refusal::forbidden();
    if (!is_valid_email(changed.email)) co_return Refusal::invalid("email", "Enter a valid email address.");
    if (changed.role != "user" && changed.role != "admin")
        co_return Refusal::invalid("role", "\"" + changed.role + "\" is not a valid choice.");
    Transaction transaction;
    Transaction::Ref ref = transaction.add(write::UpdateUser{changed});
    if (actor.in_console()) {
        auto before = co_await deps_.store.find_user(changed.id);
        if (!before) co_return Refusal::not_found();
        audit_changed(transaction, actor, AdminModel::user, changed.id, changed.email, changed_labels(*before, changed));
    }
    bool found = false;
    try {
        Committed done = co_await deps_.store.commit(std::move(transaction));
        found = done.get<bool>(ref);
    } catch (const StoreConflict&) {
        co_return Refusal::conflict("a user with email " + changed.email + " already exists");
    }
    if (!found) co_return Refusal::not_found();
    // A deactivated user's verified credentials must not outlive the change.
    if (!changed.is_active) deps_.credentials.forget_user(changed.id);
    co_return Done{};
}

// The user's meetings go with them (the database cascades): each is a meeting.deleted staged
// in the same commit and, once committed, its room is closed, as Meetings::remove does.
Task<Outcome<Done>> Accounts::delete_user(const Actor& actor, const User& user) {
    if (!may_manage_users(actor)) co_return Refusal::forbidden();
    MeetingQuery owned{.owner = user.id, .order = MeetingQuery::Order::id_ascending};
    std::vector<Meeting> meetings = (co_await deps_.store.list_meetings(owned)).rows;
    Transaction transaction;
    audit_deleted(transaction, actor, AdminModel::user, user.id, user.email);
    Transaction::Ref ref = transaction.add(write::DeleteUser{user.id});
    std::vector<events::Event> deleted;
    deleted.reserve(meetings.size());
    for (Meeting& meeting : meetings) {
        deleted.push_back(events::MeetingDeleted{std::move(meeting), actor.id()});
        deps_.events.stage(deleted.back(), transaction, std::nullopt);
    }
    Committed done = co_await deps_.store.commit(std::move(transaction));
    const bool found = done.get<bool>(ref);
    deps_.credentials.forget_user(user.id);
    if (!found) co_return Refusal::not_found();
    for (const events::Event& event : deleted) deps_.events.publish(event);
    co_return Done{};
}

Task<Outcome<Accounts::NewToken>> Accounts::create_token(const User& owner, bool via_token, std::string name,
                                                         std::optional<TimePoint> expires) {
    // A leaked token must not be able to mint more of itself.
    if (via_token) co_return Refusal::forbidden("An API token cannot create API tokens; sign in another way.");
    std::string key = std::string(kTokenKeyPrefix) + random_token(kTokenKeyRandomLength);
    ApiToken token{.user_id = owner.id,
                   .name = std::move(name),
                   .key_hash = api_token_hash(key),
                   .prefix = key.substr(0, kTokenKeyPrefix.size() + kTokenShownPrefixLength),
                   .expires_at = expires};
    ApiToken stored = co_await deps_.store.create_api_token(std::move(token));
    co_return NewToken{std::move(stored), std::move(key)};
}

Task<std::vector<ApiToken>> Accounts::list_tokens(const User& owner) {
    co_return co_await deps_.store.list_api_tokens(owner.id);
}

Task<Outcome<Done>> Accounts::delete_token(const User& owner, Id token) {
    // Another user's token is "not found", not "forbidden": its existence is not theirs to know.
    const bool deleted = co_await deps_.store.delete_api_token(owner.id, token);
    if (!deleted) co_return Refusal::not_found();
    co_return Done{};
}

}  // namespace castera::services
