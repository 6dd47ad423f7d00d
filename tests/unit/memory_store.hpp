// A Store kept in memory, for the unit tests of what sits above the store (the services,
// authentication, the rooms). It keeps the same contract as the SQLite and PostgreSQL stores:
// store_contract_test.cpp runs on it too, so a test that passes on it means the same there.
// A commit applies its writes to a copy and keeps the copy only when every write succeeded.
#pragma once

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/sql_shared.hpp"
#include "store/store.hpp"
#include "util/random.hpp"
#include "util/time.hpp"

namespace castera::testing {

class MemoryStore final : public Store {
public:
    // How many commits ran, and the last one's writes, for tests that check what was written.
    int commits = 0;
    std::vector<Write> last_commit;
    // When set, the next commit fails with this (then the flag clears).
    bool fail_next_commit = false;

    Task<Committed> commit(Transaction transaction) override {
        if (fail_next_commit) {
            fail_next_commit = false;
            throw StoreUnavailable("memory store: failing as asked");
        }
        Data copy = data_;
        std::vector<WriteResult> results;
        for (Write& w : transaction.writes())
            results.push_back(std::visit(
                [&](auto& one) -> WriteResult {
                    using W = std::decay_t<decltype(one)>;
                    if constexpr (std::is_same_v<W, write::LogAdminAction> || std::is_same_v<W, write::EnqueueWebhook>)
                        return apply(copy, one, results);
                    else return apply(copy, one);
                },
                w));
        data_ = std::move(copy);
        ++commits;
        last_commit = transaction.writes();
        co_return Committed(std::move(results));
    }

    Task<std::optional<User>> find_user(Id id) override { co_return found(data_.users, id); }
    Task<std::optional<User>> find_user_by_email(std::string email) override {
        for (auto& [id, u] : data_.users)
            if (u.email == email) co_return u;
        co_return std::nullopt;
    }
    Task<std::vector<User>> list_users() override { co_return values(data_.users); }

    Task<std::optional<Session>> find_session(std::string key_hash) override {
        auto it = data_.sessions.find(key_hash);
        if (it == data_.sessions.end()) co_return std::nullopt;
        co_return it->second;
    }
    Task<std::optional<SessionUser>> find_session_user(std::string key_hash) override {
        co_return session_user(key_hash);
    }
    Task<SessionUserMeeting> find_session_user_and_meeting(std::string key_hash, Id meeting) override {
        SessionUserMeeting both;
        both.found = session_user(key_hash);
        if (both.found) both.meeting = found(data_.meetings, meeting);
        co_return both;
    }

    Task<std::vector<ApiToken>> list_api_tokens(Id user) override {
        std::vector<ApiToken> tokens;
        for (auto& [id, t] : data_.tokens)
            if (t.user_id == user) tokens.push_back(t);
        std::reverse(tokens.begin(), tokens.end());  // newest first
        co_return tokens;
    }
    Task<std::optional<ApiToken>> find_api_token(std::string key_hash) override {
        for (auto& [id, t] : data_.tokens)
            if (t.key_hash == key_hash) co_return t;
        co_return std::nullopt;
    }

    Task<std::optional<Meeting>> find_meeting(Id id) override { co_return found(data_.meetings, id); }
    Task<std::optional<Meeting>> find_meeting_by_room(std::string room_id) override {
        std::string canonical;
        if (!parse_uuid(room_id, canonical)) co_return std::nullopt;
        for (auto& [id, m] : data_.meetings)
            if (m.room_id == canonical) co_return m;
        co_return std::nullopt;
    }
    Task<Page<Meeting>> list_meetings(MeetingQuery q) override {
        std::vector<Meeting> rows;
        for (auto& [id, m] : data_.meetings) {
            if (q.owner && m.user_id != *q.owner) continue;
            if (q.scheduled_after && !(m.scheduled_date > *q.scheduled_after)) continue;
            if (q.scheduled_until && !(m.scheduled_date <= *q.scheduled_until)) continue;
            rows.push_back(m);
        }
        std::sort(rows.begin(), rows.end(), [&](const Meeting& a, const Meeting& b) { return before(q.order, a, b); });
        co_return page(std::move(rows), q.limit, q.offset);
    }
    Task<OwnerTotals> owner_totals(Id owner) override {
        OwnerTotals totals;
        for (auto& [id, m] : data_.meetings) {
            if (m.user_id != owner) continue;
            ++totals.meetings;
            for (auto& [mid, msg] : data_.messages) totals.messages += msg.meeting_id == id;
            for (auto& [rid, r] : data_.recordings) totals.recordings += r.meeting_id == id;
        }
        co_return totals;
    }

    Task<Page<Message>> list_messages(Id meeting, std::optional<std::int64_t> limit, std::int64_t offset) override {
        std::vector<Message> rows;
        for (auto& [id, m] : data_.messages)
            if (m.meeting_id == meeting) rows.push_back(with_email(m));
        co_return page(std::move(rows), limit, offset);
    }
    Task<Page<Recording>> list_recordings(Id meeting, std::optional<std::int64_t> limit, std::int64_t offset) override {
        std::vector<Recording> rows;
        for (auto& [id, r] : data_.recordings)
            if (r.meeting_id == meeting) rows.insert(rows.begin(), r);  // newest first
        co_return page(std::move(rows), limit, offset);
    }
    Task<std::optional<ParticipantState>> find_participant_state(Id meeting, Id user) override {
        for (auto& [id, s] : data_.states)
            if (s.meeting_id == meeting && s.user_id == user) co_return s;
        co_return std::nullopt;
    }
    Task<std::vector<ParticipantState>> list_participant_states(Id meeting) override {
        std::vector<ParticipantState> rows;
        for (auto& [id, s] : data_.states)
            if (s.meeting_id == meeting) rows.push_back(s);
        co_return rows;
    }
    Task<RoomEntry> find_room_entry(std::string room_id, Id user) override {
        RoomEntry out;
        out.meeting = co_await find_meeting_by_room(std::move(room_id));
        if (!out.meeting) co_return out;
        RoomSettings settings = room_flags(data_, out.meeting->id);
        out.locked = settings.locked;
        out.lobby = settings.lobby;
        out.banned = data_.bans.count({out.meeting->id, user}) > 0;
        out.admitted = data_.admissions.count({out.meeting->id, user}) > 0;
        co_return out;
    }
    Task<RoomSettings> find_room_settings(Id meeting) override {
        RoomSettings out = room_flags(data_, meeting);
        for (auto& [key, by] : data_.bans)
            if (key.first == meeting) out.banned.push_back(key.second);
        co_return out;
    }
    Task<RoomSnapshot> room_snapshot(Id meeting, std::int64_t history) override {
        RoomSnapshot out;
        out.states = co_await list_participant_states(meeting);
        for (ParticipantState& s : out.states) s.user_email = email(data_, s.user_id);
        Page<Message> all = co_await list_messages(meeting, std::nullopt, 0);
        std::size_t keep = static_cast<std::size_t>(std::max<std::int64_t>(history, 0));
        if (all.rows.size() > keep) all.rows.erase(all.rows.begin(), all.rows.end() - static_cast<std::ptrdiff_t>(keep));
        out.history = std::move(all.rows);
        RoomSettings flags = room_flags(data_, meeting);
        out.locked = flags.locked;
        out.lobby = flags.lobby;
        ++snapshots;
        co_return out;
    }
    // How many snapshots were read (one per welcome).
    int snapshots = 0;

    Task<ConsolePage> list_console(AdminModel model, ConsoleQuery q) override {
        std::vector<ConsoleRow> rows;
        auto take = [&](const auto& table, auto related) {
            for (auto& [id, row] : table) rows.push_back(ConsoleRow{fill_email(row), related(row)});
        };
        auto title = [&](const auto& row) { return meeting_title(row.meeting_id); };
        switch (model) {
            case AdminModel::user: take(data_.users, [](const User&) { return std::string(); }); break;
            case AdminModel::meeting: take(data_.meetings, [&](const Meeting& m) { return email(data_, m.user_id); }); break;
            case AdminModel::message: take(data_.messages, title); break;
            case AdminModel::signal: take(data_.signals, title); break;
            case AdminModel::recording: take(data_.recordings, title); break;
            case AdminModel::participantstate: take(data_.states, title); break;
        }
        const sql::ConsoleTable& table = sql::console_table(model);
        std::erase_if(rows, [&](const ConsoleRow& r) { return !console_match(table, r, q); });
        auto order = q.order;
        if (order.empty()) order = model == AdminModel::user ? decltype(order){{"email", false}} : decltype(order){{"id", true}};
        order.emplace_back("id", true);
        std::stable_sort(rows.begin(), rows.end(), [&](const ConsoleRow& a, const ConsoleRow& b) {
            for (const auto& [name, descending] : order) {
                if (!table.field(name)) continue;
                std::string x = sortable(console_value(a, name)), y = sortable(console_value(b, name));
                if (x != y) return descending ? y < x : x < y;
            }
            return false;
        });
        ConsolePage out;
        out.total = static_cast<std::int64_t>(rows.size());
        auto first = std::min<std::size_t>(static_cast<std::size_t>(q.offset), rows.size());
        auto last = std::min<std::size_t>(first + static_cast<std::size_t>(q.limit), rows.size());
        out.rows.assign(rows.begin() + static_cast<std::ptrdiff_t>(first), rows.begin() + static_cast<std::ptrdiff_t>(last));
        co_return out;
    }
    Task<std::vector<AdminLogEntry>> list_admin_log(AdminLogQuery q) override {
        std::vector<AdminLogEntry> out;
        for (const AdminLogEntry& e : data_.admin_log) {
            if (q.user && e.user_id != *q.user) continue;
            if (q.model) {
                const sql::ConsoleTable& t = sql::console_table(*q.model);
                if (e.app_label != t.app_label || e.model != t.model_name || e.object_id != q.object_id) continue;
            }
            AdminLogEntry copy = e;
            copy.user_email = email(data_, e.user_id);
            out.push_back(copy);
        }
        if (!q.model) std::reverse(out.begin(), out.end());
        if (out.size() > static_cast<std::size_t>(q.limit)) out.resize(static_cast<std::size_t>(q.limit));
        co_return out;
    }
    Task<Page<WebhookEvent>> list_webhook_events(std::string status, std::int64_t limit,
                                                 std::int64_t offset) override {
        Page<WebhookEvent> page;
        for (auto it = data_.webhooks.rbegin(); it != data_.webhooks.rend(); ++it) {
            if (!status.empty() && it->second.status != status) continue;
            if (page.total++ >= offset && static_cast<std::int64_t>(page.rows.size()) < limit)
                page.rows.push_back(it->second);
        }
        co_return page;
    }
    Task<WebhookBacklog> webhook_backlog() override {
        WebhookBacklog backlog;
        for (const auto& [id, e] : data_.webhooks) {
            if (e.status != "pending") continue;
            if (!backlog.pending++) backlog.oldest = e.created_at;
            backlog.oldest = std::min(*backlog.oldest, e.created_at);
        }
        co_return backlog;
    }
    Task<bool> ping() override { co_return true; }
    // Moves with every commit, as the real stores' stamps move with every write.
    std::uint64_t change_stamp() override { return static_cast<std::uint64_t>(commits); }

    std::vector<Signal> signals() const { return values(data_.signals); }

private:
    struct Data {
        Id next_id = 1;
        std::map<Id, User> users;
        std::map<std::string, Session> sessions;
        std::map<Id, ApiToken> tokens;
        std::map<Id, Meeting> meetings;
        std::map<Id, Message> messages;
        std::map<Id, Recording> recordings;
        std::map<Id, ParticipantState> states;
        std::map<Id, Signal> signals;
        std::vector<AdminLogEntry> admin_log;
        std::map<Id, std::pair<bool, bool>> room_settings;  // locked, lobby
        std::map<std::pair<Id, Id>, Id> bans;               // (meeting, user) -> by
        std::map<std::pair<Id, Id>, Id> admissions;
        struct Lease {
            std::string by;
            TimePoint until{};
        };
        std::map<Id, WebhookEvent> webhooks;
        std::map<Id, Lease> leases;
    };

    static RoomSettings room_flags(const Data& d, Id meeting) {
        RoomSettings out;
        if (auto it = d.room_settings.find(meeting); it != d.room_settings.end()) {
            out.locked = it->second.first;
            out.lobby = it->second.second;
        }
        return out;
    }

    template <typename T>
    static std::optional<T> found(const std::map<Id, T>& rows, Id id) {
        auto it = rows.find(id);
        if (it == rows.end()) return std::nullopt;
        return it->second;
    }
    template <typename T>
    static std::vector<T> values(const std::map<Id, T>& rows) {
        std::vector<T> out;
        for (auto& [id, row] : rows) out.push_back(row);
        return out;
    }
    template <typename T>
    static Page<T> page(std::vector<T> rows, std::optional<std::int64_t> limit, std::int64_t offset) {
        Page<T> p;
        if (!limit) {
            p.rows = std::move(rows);
            return p;
        }
        p.total = static_cast<std::int64_t>(rows.size());
        auto first = std::min<std::size_t>(static_cast<std::size_t>(offset), rows.size());
        auto last = std::min<std::size_t>(first + static_cast<std::size_t>(*limit), rows.size());
        p.rows.assign(rows.begin() + static_cast<std::ptrdiff_t>(first), rows.begin() + static_cast<std::ptrdiff_t>(last));
        return p;
    }
    static bool before(MeetingQuery::Order order, const Meeting& a, const Meeting& b) {
        using O = MeetingQuery::Order;
        switch (order) {
        case O::newest_created_first: return std::tie(b.created_on, b.id) < std::tie(a.created_on, a.id);
        case O::soonest_scheduled_first: return std::tie(a.scheduled_date, a.id) < std::tie(b.scheduled_date, b.id);
        case O::latest_scheduled_first: return std::tie(b.scheduled_date, b.id) < std::tie(a.scheduled_date, a.id);
        case O::id_ascending: return a.id < b.id;
        }
        return false;
    }
    std::optional<SessionUser> session_user(const std::string& key_hash) const {
        auto it = data_.sessions.find(key_hash);
        if (it == data_.sessions.end()) return std::nullopt;
        auto user = found(data_.users, it->second.user_id);
        if (!user) return std::nullopt;
        return SessionUser{it->second, *user};
    }
    // ---- the console listing, as the SQL stores read it

    template <typename T>
    T fill_email(T row) const {
        if constexpr (std::is_same_v<T, Message> || std::is_same_v<T, ParticipantState>) row.user_email = email(data_, row.user_id);
        if constexpr (std::is_same_v<T, Recording>) row.uploaded_by_email = email(data_, row.uploaded_by);
        if constexpr (std::is_same_v<T, Signal>) row.sender_email = email(data_, row.sender_id);
        return row;
    }
    std::string meeting_title(Id meeting) const {
        auto it = data_.meetings.find(meeting);
        return it == data_.meetings.end() ? "" : it->second.title;
    }
    // A field's value as text ("1"/"0" for flags, hex for a room, ISO for times); nothing for
    // a NULL or a name the model lacks.
    std::optional<std::string> console_value(const ConsoleRow& r, std::string_view name) const {
        auto b = [](bool v) { return std::optional<std::string>(v ? "1" : "0"); };
        auto n = [](Id v) { return std::optional<std::string>(std::to_string(v)); };
        auto t = [](TimePoint v) { return std::optional<std::string>(format_iso8601(v)); };
        return std::visit(
            [&](const auto& x) -> std::optional<std::string> {
                using T = std::decay_t<decltype(x)>;
                if (name == "id") return n(x.id);
                if constexpr (std::is_same_v<T, User>) {
                    if (name == "email") return x.email;
                    if (name == "full_name") return x.full_name;
                    if (name == "role") return x.role;
                    if (name == "is_staff") return b(x.is_staff);
                    if (name == "is_superuser") return b(x.is_superuser);
                    if (name == "is_active") return b(x.is_active);
                    if (name == "last_login" && x.last_login) return t(*x.last_login);
                } else if constexpr (std::is_same_v<T, Meeting>) {
                    if (name == "title") return x.title;
                    if (name == "user__email") return r.related;
                    if (name == "room_id") {
                        std::string hex = x.room_id;
                        std::erase(hex, '-');
                        return hex;
                    }
                    if (name == "description") return x.description;
                    if (name == "type_of") return x.type_of;
                    if (name == "status") return x.status;
                    if (name == "scheduled_date") return t(x.scheduled_date);
                    if (name == "created_on") return t(x.created_on);
                    if (name == "user") return n(x.user_id);
                } else {
                    if (name == "meeting__title") return r.related;
                    if (name == "meeting") return n(x.meeting_id);
                    if constexpr (std::is_same_v<T, Message>) {
                        if (name == "user__email") return x.user_email;
                        if (name == "content") return x.content;
                        if (name == "user") return n(x.user_id);
                        if (name == "timestamp") return t(x.timestamp);
                    } else if constexpr (std::is_same_v<T, Signal>) {
                        if (name == "sender__email") return x.sender_email;
                        if (name == "sender") return n(x.sender_id);
                        if (name == "signal_type") return x.signal_type;
                        if (name == "created_at") return t(x.created_at);
                    } else if constexpr (std::is_same_v<T, Recording>) {
                        if (name == "uploaded_by__email") return x.uploaded_by_email;
                        if (name == "uploaded_by") return n(x.uploaded_by);
                        if (name == "file_url") return x.file_url;
                        if (name == "created_at") return t(x.created_at);
                    } else if constexpr (std::is_same_v<T, ParticipantState>) {
                        if (name == "user__email") return x.user_email;
                        if (name == "user") return n(x.user_id);
                        if (name == "audio_muted") return b(x.audio_muted);
                        if (name == "video_stopped") return b(x.video_stopped);
                        if (name == "in_call") return b(x.in_call);
                        if (name == "raised_hand") return b(x.raised_hand);
                        if (name == "screen_sharing") return b(x.screen_sharing);
                    }
                }
                return std::nullopt;
            },
            r.record);
    }
    // Numbers sort as numbers: padded to a fixed width.
    static std::string sortable(const std::optional<std::string>& v) {
        if (!v) return "";
        bool number = !v->empty() && v->size() < 19 && std::all_of(v->begin(), v->end(), ::isdigit);
        return number ? std::string(19 - v->size(), '0') + *v : *v;
    }
    static std::string lower(std::string s) {
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    }
    bool console_match(const sql::ConsoleTable& table, const ConsoleRow& r, const ConsoleQuery& q) const {
        for (const auto& [name, value] : q.filters) {
            const sql::ConsoleField* f = table.field(name);
            if (!f) continue;
            auto have = console_value(r, name);
            if (!have) return false;
            std::string want = value;
            if (f->kind == sql::FieldKind::boolean) {
                auto parsed = sql::parse_boolean(value);
                if (!parsed) return false;
                want = *parsed ? "1" : "0";
            } else if (f->kind == sql::FieldKind::uuid) {
                std::erase(want, '-');
                want = lower(want);
            }
            if (*have != want) return false;
        }
        for (const std::string& word : q.search_words) {
            bool found = false;
            for (const sql::ConsoleField& f : table.fields) {
                if (!f.searched) continue;
                std::string w = lower(word);
                if (f.kind == sql::FieldKind::uuid) std::erase(w, '-');
                auto have = console_value(r, f.name);
                found = found || (have && lower(*have).find(w) != std::string::npos);
            }
            if (!found) return false;
        }
        return true;
    }

    Message with_email(Message m) const {
        m.user_email = email(data_, m.user_id);
        return m;
    }
    static std::string email(const Data& d, Id user) {
        auto it = d.users.find(user);
        return it == d.users.end() ? "" : it->second.email;
    }

    // ---- the writes, each on the commit's copy

    static WriteResult apply(Data& d, write::CreateUser& w) {
        for (auto& [id, u] : d.users)
            if (u.email == w.user.email) throw StoreConflict("users_user.email");
        User u{.id = d.next_id++, .email = w.user.email, .password = w.user.password,
               .is_superuser = w.user.is_superuser, .full_name = w.user.full_name, .image = w.user.image,
               .role = w.user.role, .is_active = w.user.is_active, .is_staff = w.user.is_staff};
        d.users[u.id] = u;
        return u;
    }
    static WriteResult apply(Data& d, write::UpdateUser& w) {
        auto it = d.users.find(w.user.id);
        if (it == d.users.end()) return false;
        for (auto& [id, u] : d.users)
            if (id != w.user.id && u.email == w.user.email) throw StoreConflict("users_user.email");
        User kept = it->second;
        it->second = w.user;
        it->second.password = kept.password;
        it->second.last_login = kept.last_login;
        return true;
    }
    static WriteResult apply(Data& d, write::DeleteUser& w) {
        if (!d.users.count(w.user)) return false;
        std::vector<Id> owned;
        for (auto& [id, m] : d.meetings)
            if (m.user_id == w.user) owned.push_back(id);
        for (Id m : owned) delete_meeting(d, m);
        std::erase_if(d.messages, [&](auto& kv) { return kv.second.user_id == w.user; });
        std::erase_if(d.signals, [&](auto& kv) { return kv.second.sender_id == w.user; });
        std::erase_if(d.recordings, [&](auto& kv) { return kv.second.uploaded_by == w.user; });
        std::erase_if(d.states, [&](auto& kv) { return kv.second.user_id == w.user; });
        std::erase_if(d.sessions, [&](auto& kv) { return kv.second.user_id == w.user; });
        std::erase_if(d.tokens, [&](auto& kv) { return kv.second.user_id == w.user; });
        std::erase_if(d.admin_log, [&](auto& e) { return e.user_id == w.user; });
        std::erase_if(d.bans, [&](auto& kv) { return kv.first.second == w.user; });
        std::erase_if(d.admissions, [&](auto& kv) { return kv.first.second == w.user; });
        d.users.erase(w.user);
        return true;
    }
    static WriteResult apply(Data& d, write::SetPassword& w) {
        auto it = d.users.find(w.user);
        if (it == d.users.end()) return false;
        it->second.password = w.hash;
        return true;
    }
    static WriteResult apply(Data& d, write::TouchLastLogin& w) {
        if (auto it = d.users.find(w.user); it != d.users.end()) it->second.last_login = w.when;
        return std::monostate{};
    }
    static WriteResult apply(Data& d, write::CreateSession& w) {
        d.sessions[w.session.key_hash] = w.session;
        return std::monostate{};
    }
    static WriteResult apply(Data& d, write::DeleteSession& w) {
        d.sessions.erase(w.key_hash);
        return std::monostate{};
    }
    static WriteResult apply(Data& d, write::DeleteUserSessions& w) {
        std::erase_if(d.sessions, [&](auto& kv) { return kv.second.user_id == w.user; });
        return std::monostate{};
    }
    static WriteResult apply(Data& d, write::CreateApiToken& w) {
        for (auto& [id, t] : d.tokens)
            if (t.key_hash == w.token.key_hash) throw StoreConflict("castera_api_token.key_hash");
        ApiToken t = w.token;
        t.id = d.next_id++;
        t.created_at = now_utc();
        d.tokens[t.id] = t;
        return t;
    }
    static WriteResult apply(Data& d, write::DeleteApiToken& w) {
        auto it = d.tokens.find(w.token);
        if (it == d.tokens.end() || it->second.user_id != w.user) return false;
        d.tokens.erase(it);
        return true;
    }
    static WriteResult apply(Data& d, write::TouchApiToken& w) {
        if (auto it = d.tokens.find(w.token); it != d.tokens.end()) it->second.last_used_at = w.when;
        return std::monostate{};
    }
    static WriteResult apply(Data& d, write::CreateMeeting& w) {
        Meeting m = w.meeting;
        m.id = d.next_id++;
        if (m.room_id.empty()) m.room_id = random_uuid4();
        if (m.created_on == TimePoint{}) m.created_on = now_utc();
        d.meetings[m.id] = m;
        return m;
    }
    static WriteResult apply(Data& d, write::UpdateMeeting& w) {
        auto it = d.meetings.find(w.meeting);
        if (it == d.meetings.end()) return std::optional<Meeting>();
        Meeting& m = it->second;
        const MeetingChanges& c = w.changes;
        if (c.title) m.title = *c.title;
        if (c.description) m.description = *c.description;
        if (c.type_of) m.type_of = *c.type_of;
        if (c.scheduled_date) m.scheduled_date = *c.scheduled_date;
        if (c.status) m.status = *c.status;
        if (c.user_id) m.user_id = *c.user_id;
        return std::optional<Meeting>(m);
    }
    static bool delete_meeting(Data& d, Id meeting) {
        if (!d.meetings.erase(meeting)) return false;
        d.room_settings.erase(meeting);
        std::erase_if(d.bans, [&](auto& kv) { return kv.first.first == meeting; });
        std::erase_if(d.admissions, [&](auto& kv) { return kv.first.first == meeting; });
        std::erase_if(d.messages, [&](auto& kv) { return kv.second.meeting_id == meeting; });
        std::erase_if(d.signals, [&](auto& kv) { return kv.second.meeting_id == meeting; });
        std::erase_if(d.recordings, [&](auto& kv) { return kv.second.meeting_id == meeting; });
        std::erase_if(d.states, [&](auto& kv) { return kv.second.meeting_id == meeting; });
        return true;
    }
    static WriteResult apply(Data& d, write::DeleteMeeting& w) { return delete_meeting(d, w.meeting); }
    static WriteResult apply(Data& d, write::CreateMessages& w) {
        std::vector<Message> stored;
        for (std::string& content : w.contents) {
            Message m{.id = d.next_id++, .meeting_id = w.meeting, .user_id = w.user, .user_email = email(d, w.user),
                      .content = content, .timestamp = w.at == TimePoint{} ? now_utc() : w.at};
            d.messages[m.id] = m;
            stored.push_back(m);
        }
        return stored;
    }
    static WriteResult apply(Data& d, write::CreateRecording& w) {
        Recording r{.id = d.next_id++, .meeting_id = w.meeting, .uploaded_by = w.user,
                    .uploaded_by_email = email(d, w.user), .file_url = w.file_url,
                    .created_at = w.at == TimePoint{} ? now_utc() : w.at};
        d.recordings[r.id] = r;
        return r;
    }
    static WriteResult apply(Data& d, write::SetParticipantFlags& w) {
        ParticipantState* state = nullptr;
        for (auto& [id, s] : d.states)
            if (s.meeting_id == w.meeting && s.user_id == w.user) state = &s;
        if (!state) {
            Id id = d.next_id++;
            state = &d.states[id];
            *state = ParticipantState{.id = id, .meeting_id = w.meeting, .user_id = w.user};
        }
        state->user_email = email(d, w.user);
        for (auto [flag, value] : w.flags) {
            switch (flag) {
            case ParticipantFlag::audio_muted: state->audio_muted = value; break;
            case ParticipantFlag::video_stopped: state->video_stopped = value; break;
            case ParticipantFlag::in_call: state->in_call = value; break;
            case ParticipantFlag::raised_hand: state->raised_hand = value; break;
            case ParticipantFlag::screen_sharing: state->screen_sharing = value; break;
            }
        }
        return *state;
    }
    static WriteResult apply(Data& d, write::CreateSignal& w) {
        Signal s{.id = d.next_id++, .meeting_id = w.meeting, .sender_id = w.sender, .sender_email = email(d, w.sender),
                 .signal_type = w.signal_type, .data = w.data_json, .created_at = now_utc()};
        d.signals[s.id] = s;
        return s;
    }

    static WriteResult apply(Data& d, write::UpdateMessage& w) {
        auto it = d.messages.find(w.id);
        if (it == d.messages.end()) return false;
        it->second.meeting_id = w.meeting, it->second.user_id = w.user, it->second.content = w.content;
        return true;
    }
    static WriteResult apply(Data& d, write::UpdateSignal& w) {
        auto it = d.signals.find(w.id);
        if (it == d.signals.end()) return false;
        it->second.meeting_id = w.meeting, it->second.sender_id = w.sender;
        it->second.signal_type = w.signal_type, it->second.data = w.data_json;
        return true;
    }
    static WriteResult apply(Data& d, write::UpdateRecording& w) {
        auto it = d.recordings.find(w.id);
        if (it == d.recordings.end()) return false;
        it->second.meeting_id = w.meeting, it->second.uploaded_by = w.user, it->second.file_url = w.file_url;
        return true;
    }
    static WriteResult apply(Data& d, write::CreateParticipantState& w) {
        for (auto& [id, s] : d.states)
            if (s.meeting_id == w.state.meeting_id && s.user_id == w.state.user_id)
                throw StoreConflict("meetings_participantstate (meeting_id, user_id)");
        ParticipantState s = w.state;
        s.id = d.next_id++;
        s.user_email = email(d, s.user_id);
        d.states[s.id] = s;
        return s;
    }
    static WriteResult apply(Data& d, write::UpdateParticipantState& w) {
        auto it = d.states.find(w.state.id);
        if (it == d.states.end()) return false;
        for (auto& [id, s] : d.states)
            if (id != w.state.id && s.meeting_id == w.state.meeting_id && s.user_id == w.state.user_id)
                throw StoreConflict("meetings_participantstate (meeting_id, user_id)");
        it->second = w.state;
        return true;
    }
    static WriteResult apply(Data& d, write::DeleteRow& w) {
        switch (w.model) {
            case AdminModel::message: return d.messages.erase(w.id) > 0;
            case AdminModel::signal: return d.signals.erase(w.id) > 0;
            case AdminModel::recording: return d.recordings.erase(w.id) > 0;
            case AdminModel::participantstate: return d.states.erase(w.id) > 0;
            default: throw std::invalid_argument("DeleteRow is for rows nothing hangs off");
        }
    }
    static WriteResult apply(Data& d, write::SetRoomSettings& w) {
        auto& flags = d.room_settings[w.meeting];
        if (w.locked) flags.first = *w.locked;
        if (w.lobby) flags.second = *w.lobby;
        return room_flags(d, w.meeting);
    }
    static WriteResult apply(Data& d, write::BanFromRoom& w) {
        return d.bans.emplace(std::pair{w.meeting, w.user}, w.by).second;
    }
    static WriteResult apply(Data& d, write::UnbanFromRoom& w) { return d.bans.erase({w.meeting, w.user}) > 0; }
    static WriteResult apply(Data& d, write::AdmitToRoom& w) {
        return d.admissions.emplace(std::pair{w.meeting, w.user}, w.by).second;
    }
    WriteResult apply(Data& d, write::LogAdminAction& w, const std::vector<WriteResult>& earlier) {
        AdminLogEntry e = w.entry;
        if (w.subject) {
            e.object_id = std::to_string(created_id(earlier.at(*w.subject)));
            if (w.repr_names_id) e.object_repr += " (" + e.object_id + ")";
        }
        const sql::ConsoleTable& t = sql::console_table(w.model);
        e.app_label = std::string(t.app_label), e.model = std::string(t.model_name);
        e.id = d.next_id++;
        e.action_time = now_utc();
        d.admin_log.push_back(e);
        return std::monostate{};
    }

    WriteResult apply(Data& d, write::EnqueueWebhook& w, const std::vector<WriteResult>& earlier) {
        WebhookEvent e = w.event;
        if (w.subject) {
            const WriteResult& r = earlier.at(*w.subject);
            auto* messages = std::get_if<std::vector<Message>>(&r);
            Id id = messages ? messages->at(w.item).id : created_id(r);
            e.body += std::to_string(id) + w.body_tail;
            if (w.meeting_is_subject) e.meeting_id = id;
        }
        if (w.requires_meeting && !d.meetings.contains(e.meeting_id)) return std::monostate{};
        e.id = d.next_id++;
        e.next_attempt_at = e.created_at;
        d.webhooks[e.id] = e;
        return std::monostate{};
    }
    static bool is_head(const Data& d, const WebhookEvent& e) {
        for (const auto& [id, p] : d.webhooks) {
            if (id >= e.id) break;
            if (p.status == "pending" && p.endpoint == e.endpoint && p.meeting_id == e.meeting_id) return false;
        }
        return true;
    }
    static bool claimable(const Data& d, const WebhookEvent& e, TimePoint now) {
        auto lease = d.leases.find(e.id);
        return e.status == "pending" && e.next_attempt_at <= now && (lease == d.leases.end() || lease->second.until < now);
    }
    static WriteResult apply(Data& d, write::ClaimWebhooks& w) {
        std::vector<WebhookEvent> claimed;
        if (w.meeting) {
            for (auto& [id, e] : d.webhooks) {
                if (e.status != "pending" || e.endpoint != w.endpoint || e.meeting_id != *w.meeting) continue;
                if (claimed.empty() && !claimable(d, e, w.now)) break;
                if (static_cast<std::int64_t>(claimed.size()) >= w.limit) break;
                d.leases[id] = Data::Lease{w.instance, w.until};
                claimed.push_back(e);
            }
            return claimed;
        }
        for (auto& [id, e] : d.webhooks) {
            if (static_cast<std::int64_t>(claimed.size()) >= w.limit) break;
            if (e.status != "pending" || !is_head(d, e)) continue;
            if (e.endpoint != w.endpoint || (w.meeting && e.meeting_id != *w.meeting)) continue;
            if (!claimable(d, e, w.now)) {
                if (w.meeting) break;
                continue;
            }
            d.leases[id] = Data::Lease{w.instance, w.until};
            claimed.push_back(e);
            if (w.meeting) break;
        }
        return claimed;
    }
    static WriteResult apply(Data& d, write::FinishWebhook& w) {
        auto it = d.webhooks.find(w.id);
        auto lease = d.leases.find(w.id);
        if (it == d.webhooks.end() || it->second.status != "pending" || lease == d.leases.end() ||
            lease->second.by != w.instance)
            return false;
        WebhookEvent& e = it->second;
        e.status = w.status, e.attempts = w.attempts, e.next_attempt_at = w.next_attempt_at;
        e.last_status = w.last_status, e.last_error = w.last_error;
        e.delivered_at = w.status == "delivered" ? std::optional(w.at) : std::nullopt;
        d.leases.erase(lease);
        return true;
    }
    static WriteResult apply(Data& d, write::RetryWebhook& w) {
        auto it = d.webhooks.find(w.id);
        if (it == d.webhooks.end() || it->second.status != "failed") return false;
        it->second.status = "pending", it->second.attempts = 0, it->second.next_attempt_at = w.now;
        d.leases.erase(w.id);
        return true;
    }
    static WriteResult apply(Data& d, write::PruneWebhooks& w) {
        std::erase_if(d.webhooks, [&](const auto& row) {
            return row.second.status == "delivered" && row.second.delivered_at < w.delivered_before;
        });
        for (auto& [id, e] : d.webhooks) {
            if (e.status != "pending" || e.created_at >= w.expire_before) continue;
            auto lease = d.leases.find(id);
            if (lease != d.leases.end() && lease->second.until >= w.now) continue;
            e.status = "failed";
            e.last_error = e.last_error ? *e.last_error + "; expired" : "expired";
        }
        return std::monostate{};
    }

    Data data_;
};

}  // namespace castera::testing
