// The webhook delivery worker: runs on one event loop (coroutines, no thread per delivery),
// claims due events from the outbox, signs and sends them, and records each outcome.
//
// Order: only the first pending event of an endpoint and meeting can be claimed, so one
// meeting's events reach an endpoint one after the other; a delivered event's successor is
// claimed in the same commit that records it, so a busy meeting streams without a scan. A
// failing event holds back its own meeting only. A meeting's events are claimed up to 32 at a
// time, and a batch's outcomes are recorded in one commit. Claims carry a lease (the timeout and 5 s):
// an instance that dies mid-delivery has its claims taken over by whoever scans next.
// Several instances on one PostgreSQL claim with FOR UPDATE SKIP LOCKED (store/postgres).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "store/store.hpp"
#include "webhooks/endpoint.hpp"
#include "webhooks/http_client.hpp"

namespace castera::webhooks {

struct WorkerSettings {
    std::vector<Endpoint> endpoints;
    std::string key;  // the secret's key
    std::chrono::microseconds retry_base{5'000'000};
    std::chrono::microseconds max_delay{3'600'000'000};
    std::chrono::microseconds timeout{10'000'000};
    std::chrono::microseconds max_age{72LL * 3600 * 1'000'000};
    std::chrono::microseconds retention{24LL * 3600 * 1'000'000};
    std::string instance;   // this process, in claimed_by
    std::size_t slots = 32;  // deliveries in flight at most
};

// The delay before attempt `attempts` + 1: base, doubling, at most `max_delay`.
std::chrono::microseconds retry_delay(std::chrono::microseconds base, std::chrono::microseconds max_delay,
                                      std::int64_t attempts);

class Worker {
public:
    Worker(WorkerSettings settings, Store& store, boost::asio::io_context::executor_type loop);

    void start();
    // Says that `meeting` has new events; callable from any thread.
    void wake(Id meeting);

    std::atomic<std::uint64_t> delivered{0};
    std::atomic<std::uint64_t> failed_attempts{0};

private:
    using Group = std::pair<std::string, Id>;  // endpoint URL, meeting

    Task<void> run();
    Task<void> claim_and_start(std::vector<Id> woken, bool scan);
    Task<void> deliver_chain(std::vector<WebhookEvent> batch);
    Task<Answer> send(const WebhookEvent& event);
    write::FinishWebhook outcome(const WebhookEvent& event, const Answer& answer, TimePoint now) const;
    void start_chain(std::vector<WebhookEvent> batch);
    const Endpoint* endpoint(const std::string& url) const;
    void kick();

    WorkerSettings settings_;
    Store& store_;
    boost::asio::io_context::executor_type loop_;
    HttpClient client_;
    boost::asio::steady_timer timer_;

    std::mutex mutex_;  // guards woken_ and posted_ (wake() comes from every loop)
    std::vector<Id> woken_;
    bool posted_ = false;

    // On the worker's loop only:
    std::set<Group> busy_;                       // a chain is delivering this group's events
    std::set<Group> woken_while_busy_;           // to look at again when its chain ends
    std::map<Group, TimePoint> backing_off_;     // failing: nothing to claim before then
    std::size_t in_flight_ = 0;
    bool kicked_ = false;  // woken since the last look
};

}  // namespace castera::webhooks
