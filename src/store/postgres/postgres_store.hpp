// The Store on PostgreSQL: one per event loop, with a small pool of non-blocking, pipelined
// connections (CASTERA_PG_POOL_SIZE, default 2) that carry the statements of all the loop's
// requests at once and suspend each calling coroutine while the server works.
// Tables are Django's; its foreign keys do not cascade, so deletions remove dependent rows here.
#pragma once

#include <memory>
#include <string>

#include "store/store.hpp"

namespace castera::postgres {

class Pool;
class Result;
struct Statement;
class Params;

class PostgresStore final : public Store {
public:
    PostgresStore(std::string conninfo, std::size_t pool_size);
    ~PostgresStore() override;

    Task<Committed> commit(Transaction transaction) override;

    Task<std::optional<User>> find_user(Id id) override;
    Task<std::optional<User>> find_user_by_email(std::string email) override;
    Task<std::vector<User>> list_users() override;

    Task<std::optional<Session>> find_session(std::string key_hash) override;
    Task<std::optional<SessionUser>> find_session_user(std::string key_hash) override;
    Task<SessionUserMeeting> find_session_user_and_meeting(std::string key_hash, Id meeting) override;

    Task<std::vector<ApiToken>> list_api_tokens(Id user) override;
    Task<std::optional<ApiToken>> find_api_token(std::string key_hash) override;

    Task<std::optional<Meeting>> find_meeting(Id id) override;
    Task<std::optional<Meeting>> find_meeting_by_room(std::string room_id) override;
    Task<Page<Meeting>> list_meetings(MeetingQuery query) override;
    Task<OwnerTotals> owner_totals(Id owner) override;

    Task<Page<Message>> list_messages(Id meeting, std::optional<std::int64_t> limit, std::int64_t offset) override;
    Task<Page<Recording>> list_recordings(Id meeting, std::optional<std::int64_t> limit,
                                          std::int64_t offset) override;

    Task<std::optional<ParticipantState>> find_participant_state(Id meeting, Id user) override;
    Task<std::vector<ParticipantState>> list_participant_states(Id meeting) override;

    Task<RoomEntry> find_room_entry(std::string room_id, Id user) override;
    Task<RoomSettings> find_room_settings(Id meeting) override;
    Task<RoomSnapshot> room_snapshot(Id meeting, std::int64_t history) override;

    Task<ConsolePage> list_console(AdminModel model, ConsoleQuery query) override;
    Task<std::vector<AdminLogEntry>> list_admin_log(AdminLogQuery query) override;

    Task<Page<WebhookEvent>> list_webhook_events(std::string status, std::int64_t limit,
                                                 std::int64_t offset) override;
    Task<WebhookBacklog> webhook_backlog() override;
    Task<bool> ping() override;
    void settle_on(const boost::asio::any_io_executor& loop) override;

private:
    // Runs one statement on a pooled connection.
    Task<Result> run(const Statement& statement, const Params& params);
    // Which of Django's own tables that hang off a user exist (when Django made the
    // database), as a bit mask; asked once.
    Task<unsigned> django_user_tables();

    std::shared_ptr<Pool> pool_;
    std::optional<unsigned> django_user_tables_;
};

// The factory for "postgresql://" and "postgres://" URLs (libpq's URI syntax).
std::unique_ptr<StoreFactory> make_postgres_factory(std::string url);

}  // namespace castera::postgres
