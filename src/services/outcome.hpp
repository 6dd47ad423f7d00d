// What a use case answers: its result, or why it refused. The transports turn a refusal into
// their own words (REST: a status and DRF's JSON; WebSocket: an error frame; the admin console:
// a page); the decision is made once, in the service.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "validation/fields.hpp"

namespace castera::services {

struct Refusal {
    enum class Kind {
        not_found,        // no such object (or not one the caller may know of)
        forbidden,        // the caller may not do this
        invalid,          // the input is wrong: see `fields`
        conflict,         // it clashes with what exists (an email already taken)
        throttled,        // too many attempts: try again in `retry_after` seconds
        bad_credentials,  // wrong email or password
        inactive,         // the account is deactivated
    };

    Kind kind;
    std::string detail;             // a message for people, when the kind's own is not enough
    validation::FieldErrors fields;  // with Kind::invalid
    long retry_after = 0;           // with Kind::throttled

    static Refusal not_found(std::string detail = {}) { return {Kind::not_found, std::move(detail)}; }
    static Refusal forbidden(std::string detail = {}) { return {Kind::forbidden, std::move(detail)}; }
    static Refusal invalid(validation::FieldErrors fields) { return {Kind::invalid, {}, std::move(fields)}; }
    static Refusal invalid(std::string_view field, std::string message) {
        validation::FieldErrors fields;
        fields.add(field, std::move(message));
        return invalid(std::move(fields));
    }
    static Refusal conflict(std::string detail) { return {Kind::conflict, std::move(detail)}; }
    static Refusal throttled(long seconds) { return {Kind::throttled, {}, {}, seconds}; }
};

template <typename T>
class Outcome {
public:
    Outcome(T value) : result_(std::move(value)) {}
    Outcome(Refusal refusal) : result_(std::move(refusal)) {}

    bool ok() const { return result_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(result_); }
    const T& value() const { return std::get<0>(result_); }
    T& operator*() { return value(); }
    T* operator->() { return &value(); }
    Refusal& refusal() { return std::get<1>(result_); }
    const Refusal& refusal() const { return std::get<1>(result_); }

private:
    std::variant<T, Refusal> result_;
};

// A use case that gives nothing back but may refuse.
struct Done {};

}  // namespace castera::services
