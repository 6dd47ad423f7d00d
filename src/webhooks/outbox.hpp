// The webhook outbox as an event sink: each domain event that a webhook reports becomes one
// row per endpoint in castera_webhook_event, staged into the change's own transaction, so that
// a change that committed always has its events stored and one that did not has none. After
// the commit, publish() tells the delivery worker which meetings have something new.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "events/events.hpp"

namespace castera::webhooks {

// An event's JSON body, {"type","timestamp","data"}, cut where the id of the row it is about
// goes when that id is known only once committed (head + id + tail).
struct Body {
    std::string head;
    std::string tail;
};

class Outbox final : public events::EventSink {
public:
    // `wake` is called (from any loop) with the meeting of each published event.
    Outbox(std::vector<std::string> endpoints, std::function<void(Id meeting)> wake)
        : endpoints_(std::move(endpoints)), wake_(std::move(wake)) {}

    void stage(const events::Event& event, Transaction& transaction,
               std::optional<Transaction::Ref> subject) override;
    void publish(const events::Event& event) override;

private:
    // One row per endpoint.
    void enqueue(Transaction& transaction, std::string_view type, Id meeting, Body body,
                 std::optional<Transaction::Ref> subject, std::size_t item, bool requires_meeting);

    std::vector<std::string> endpoints_;
    std::function<void(Id meeting)> wake_;
};

}  // namespace castera::webhooks
