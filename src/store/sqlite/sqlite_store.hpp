// The Store on SQLite: one connection per event loop for reads, WAL so that readers never wait
// for the writer; reads take microseconds on a local file, so they run on the calling loop.
// Writes go to the process's one Writer thread, which groups them into commits.
#pragma once

#include <memory>
#include <string>

#include "store/store.hpp"

namespace castera::sqlite {

class ChangeWatch;
class Connection;
class Writer;

class SqliteStore final : public Store {
public:
    SqliteStore(const std::string& path, std::shared_ptr<Writer> writer);
    ~SqliteStore() override;

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
    std::uint64_t change_stamp() override;

private:
    static Task<Committed> counted(LoopGauge* gauge, Task<Committed> commit);

    std::unique_ptr<Connection> db_;  // this loop's reads
    std::shared_ptr<Writer> writer_;  // every loop's writes, grouped into commits
    std::unique_ptr<ChangeWatch> changes_;
};

// The factory for "sqlite:PATH" URLs.
std::unique_ptr<StoreFactory> make_sqlite_factory(std::string path);

}  // namespace castera::sqlite
