#include "webhooks/worker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "observe/log.hpp"
#include "util/time.hpp"
#include "webhooks/signature.hpp"

namespace castera::webhooks {
namespace {

namespace asio = boost::asio;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::chrono::seconds kLeaseMargin{5};
constexpr std::chrono::seconds kPrunePeriod{60};
constexpr std::size_t kMostErrorChars = 300;
// A meeting's events claimed at once: sent one after the other, their outcomes recorded (and
// the next ones claimed) in one commit.
constexpr std::int64_t kBatch = 32;

// How often the whole outbox is looked at (retries due, leases expired, other instances'
// events): a second, or the retry base when tests make it shorter.
std::chrono::microseconds scan_period(std::chrono::microseconds retry_base) {
    return std::clamp<std::chrono::microseconds>(retry_base / 2, std::chrono::milliseconds(50), std::chrono::seconds(1));
}

std::int64_t unix_seconds(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::chrono::microseconds retry_delay(std::chrono::microseconds base, std::chrono::microseconds max_delay,
                                      std::int64_t attempts) {
    std::chrono::microseconds delay = base;
    for (std::int64_t i = 1; i < attempts && delay < max_delay; ++i) delay *= 2;
    return std::min(delay, max_delay);
}

Worker::Worker(WorkerSettings settings, Store& store, asio::io_context::executor_type loop)
    : settings_(std::move(settings)),
      store_(store),
      loop_(loop),
      client_(loop, std::chrono::duration_cast<std::chrono::milliseconds>(settings_.timeout)),
      timer_(loop) {}

void Worker::start() {
    asio::co_spawn(loop_, run(), [](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& failure) {
            log::error("webhooks", "the delivery worker stopped", {{"error", failure.what()}});
        }
    });
}

void Worker::wake(Id meeting) {
    {
        std::lock_guard lock(mutex_);
        woken_.push_back(meeting);
        if (posted_) return;
        posted_ = true;
    }
    asio::post(loop_, [this] { kick(); });
}

void Worker::kick() {
    kicked_ = true;
    timer_.cancel();
}

const Endpoint* Worker::endpoint(const std::string& url) const {
    for (const Endpoint& e : settings_.endpoints)
        if (e.url == url) return &e;
    return nullptr;
}

// Scans, prunes and claims; sleeps until the next scan or a wake-up.
Task<void> Worker::run() {
    auto next_scan = std::chrono::steady_clock::now();
    auto next_prune = next_scan;
    for (;;) {
        kicked_ = false;
        std::vector<Id> woken;
        {
            std::lock_guard lock(mutex_);
            woken.swap(woken_);
            posted_ = false;
        }
        auto now = std::chrono::steady_clock::now();
        bool scan = now >= next_scan;
        if (scan) next_scan = now + scan_period(settings_.retry_base);
        try {
            if (now >= next_prune) {
                next_prune = now + kPrunePeriod;
                TimePoint at = now_utc();
                Transaction prune;
                prune.add(write::PruneWebhooks{at - settings_.retention, at - settings_.max_age, at});
                co_await store_.commit(std::move(prune));
            }
            co_await claim_and_start(std::move(woken), scan);
        } catch (const std::exception& e) {
            log::warning("webhooks", "could not claim events", {{"error", e.what()}});
        }
        if (kicked_) continue;  // woken while claiming: no wait
        timer_.expires_at(next_scan);
        co_await timer_.async_wait(use_tuple);
    }
}

// The first event of each woken meeting (per endpoint), and with `scan` any due event.
Task<void> Worker::claim_and_start(std::vector<Id> woken, bool scan) {
    std::sort(woken.begin(), woken.end());
    woken.erase(std::unique(woken.begin(), woken.end()), woken.end());
    TimePoint now = now_utc();
    TimePoint until = now + settings_.timeout + kLeaseMargin;
    for (Id meeting : woken) {
        for (const Endpoint& e : settings_.endpoints) {
            Group group{e.url, meeting};
            if (busy_.contains(group)) {
                woken_while_busy_.insert(group);
                continue;
            }
            auto backoff = backing_off_.find(group);
            if (backoff != backing_off_.end() && backoff->second > now) continue;
            if (in_flight_ >= settings_.slots) co_return;
            Transaction claim;
            auto ref = claim.add(write::ClaimWebhooks{settings_.instance, now, until, kBatch, e.url, meeting});
            Committed done = co_await store_.commit(std::move(claim));
            auto claimed = done.take<std::vector<WebhookEvent>>(ref);
            if (!claimed.empty()) start_chain(std::move(claimed));
        }
    }
    if (!scan) co_return;
    for (const Endpoint& e : settings_.endpoints) {
        if (in_flight_ >= settings_.slots) co_return;
        Transaction claim;
        auto limit = static_cast<std::int64_t>(settings_.slots - in_flight_);
        auto ref = claim.add(write::ClaimWebhooks{settings_.instance, now, until, limit, e.url, std::nullopt});
        Committed done = co_await store_.commit(std::move(claim));
        for (WebhookEvent& event : done.take<std::vector<WebhookEvent>>(ref)) start_chain({std::move(event)});
    }
}

void Worker::start_chain(std::vector<WebhookEvent> batch) {
    Group group{batch.front().endpoint, batch.front().meeting_id};
    // A chain already delivering this group holds its lease; the event is its own.
    if (busy_.contains(group) || !endpoint(group.first)) return;
    busy_.insert(group);
    backing_off_.erase(group);
    ++in_flight_;
    asio::co_spawn(loop_, deliver_chain(std::move(batch)), asio::detached);
}

Task<Answer> Worker::send(const WebhookEvent& event) {
    const Endpoint* target = endpoint(event.endpoint);
    std::int64_t timestamp = unix_seconds(now_utc());
    HttpClient::Headers headers{{"webhook-id", event.event_id},
                                {"webhook-timestamp", std::to_string(timestamp)},
                                {"webhook-signature", sign(settings_.key, event.event_id, timestamp, event.body)}};
    co_return co_await client_.post(*target, headers, event.body);
}

write::FinishWebhook Worker::outcome(const WebhookEvent& event, const Answer& answer, TimePoint now) const {
    write::FinishWebhook finish{.id = event.id, .instance = settings_.instance, .attempts = event.attempts + 1, .at = now};
    if (answer.status) finish.last_status = static_cast<std::int64_t>(*answer.status);
    if (!answer.error.empty()) finish.last_error = answer.error.substr(0, kMostErrorChars);
    if (answer.delivered()) {
        finish.status = "delivered";
        finish.next_attempt_at = now;
    } else if (now - event.created_at >= settings_.max_age) {
        finish.status = "failed";
        finish.next_attempt_at = now;
    } else {
        finish.status = "pending";
        finish.next_attempt_at = now + retry_delay(settings_.retry_base, settings_.max_delay, finish.attempts);
    }
    return finish;
}

// Sends a meeting's claimed events one after the other, records their outcomes and claims
// the next ones in one commit, for as long as they are delivered; at a failure the rest of
// the batch is released untried, behind the failed one.
Task<void> Worker::deliver_chain(std::vector<WebhookEvent> batch) {
    Group group{batch.front().endpoint, batch.front().meeting_id};
    for (;;) {
        Transaction record;
        bool all_delivered = true;
        TimePoint retry_at{};
        for (const WebhookEvent& event : batch) {
            if (!all_delivered) {
                record.add(write::FinishWebhook{.id = event.id, .instance = settings_.instance, .status = "pending",
                                                .attempts = event.attempts, .next_attempt_at = event.next_attempt_at,
                                                .last_status = event.last_status, .last_error = event.last_error,
                                                .at = now_utc()});
                continue;
            }
            Answer answer;
            try {
                answer = co_await send(event);
            } catch (const std::exception& e) {
                answer.error = e.what();
            }
            write::FinishWebhook finish = outcome(event, answer, now_utc());
            retry_at = finish.next_attempt_at;
            record.add(std::move(finish));
            if (answer.delivered()) {
                delivered.fetch_add(1, std::memory_order_relaxed);
            } else {
                failed_attempts.fetch_add(1, std::memory_order_relaxed);
                all_delivered = false;
            }
        }
        TimePoint now = now_utc();
        std::optional<Transaction::Ref> next;
        if (all_delivered)
            next = record.add(write::ClaimWebhooks{settings_.instance, now, now + settings_.timeout + kLeaseMargin,
                                                   kBatch, group.first, group.second});
        else
            backing_off_[group] = retry_at;
        std::optional<Committed> done;
        try {
            done = co_await store_.commit(std::move(record));
        } catch (const std::exception& e) {
            log::warning("webhooks", "could not record deliveries", {{"meeting", group.second}, {"error", e.what()}});
        }
        if (!done || !next) break;
        batch = done->take<std::vector<WebhookEvent>>(*next);
        if (batch.empty()) break;
    }
    busy_.erase(group);
    --in_flight_;
    if (woken_while_busy_.erase(group)) wake(group.second);
}

}  // namespace castera::webhooks
