// Django's admin history, written by the services for what a staff member does in the admin
// console: one django_admin_log row in the same transaction as the change, with Django's
// change_message format, so that Django's admin and castera's show one history. Nothing is
// written for other actors (the API, the rooms, the command line).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "services/access.hpp"
#include "store/transaction.hpp"

namespace castera::services {

// Django's label for a model field: its verbose name with a capital ("scheduled_date" ->
// "Scheduled date"; is_superuser is "Superuser status", as PermissionsMixin names it).
std::string field_label(std::string_view field);

// Django's change_message for a change of these fields ("[]" when none changed):
// [{"changed": {"fields": ["Title", "Status"]}}]
std::string change_message(const std::vector<std::string>& labels);

// An addition of the object that write `created` of the transaction makes. With
// `repr_names_id`, `repr` is followed by " (<id>)" (Django's default str(): "Message object (7)").
void audit_added(Transaction& transaction, const Actor& actor, AdminModel model, Transaction::Ref created,
                 std::string repr, bool repr_names_id = false);
// A change of the fields given by their labels (field_label), and an explicit change message.
void audit_changed(Transaction& transaction, const Actor& actor, AdminModel model, Id id, std::string repr,
                   const std::vector<std::string>& labels);
void audit_changed(Transaction& transaction, const Actor& actor, AdminModel model, Id id, std::string repr,
                   std::string message);
// Added before the writes that delete: a staff member who deletes their own account takes the
// row with them, as in Django.
void audit_deleted(Transaction& transaction, const Actor& actor, AdminModel model, Id id, std::string repr);

// "Message object (7)": Django's str() of a model without its own.
std::string default_repr(std::string_view class_name, Id id);

}  // namespace castera::services
