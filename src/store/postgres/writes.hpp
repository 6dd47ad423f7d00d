// A Transaction's writes as the statements of one pipeline segment (so one PostgreSQL
// transaction), and their results read back into the domain types.
#pragma once

#include <deque>
#include <vector>

#include "store/postgres/connection.hpp"
#include "store/transaction.hpp"

namespace castera::postgres {

class WritePlan {
public:
    // `django_tables` says which of Django's own tables that hang off a user exist (a bit per
    // django_only entry of sql::kUserDependents, in order); only deletions of users use it.
    WritePlan(Transaction& transaction, unsigned django_tables);

    const std::vector<Step>& steps() const { return steps_; }
    // The writes' results from their statements' results, in order.
    Committed results(std::vector<Result>& results);

    // Whether a transaction needs to know which of Django's tables exist.
    static bool needs_django_tables(const Transaction& transaction);

private:
    struct Planned {
        std::size_t first = 0;  // its first statement in steps_
        std::size_t count = 0;
        TimePoint at{};  // the time its row was given (messages, recordings, signals)
        std::vector<std::size_t> rows;  // a group of messages: each one's statement
    };

    void add(const Statement& statement, Params params);
    void add_webhook(const write::EnqueueWebhook& w, std::string_view subject_table);

    Transaction& transaction_;
    std::deque<Params> params_;  // stable addresses for the steps
    std::vector<Step> steps_;
    std::vector<Planned> planned_;
};

}  // namespace castera::postgres
