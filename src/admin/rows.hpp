// What the pages show of a row: its name (Django's str()), its changelist cells, the values
// its form starts with, its read-only fields, and the URLs of its pages.
#pragma once

#include <string>
#include <string_view>

#include "admin/registry.hpp"
#include "store/store.hpp"

namespace castera::admin {

AdminModel model_of(const ConsoleRow& row);
Id row_id(const ConsoleRow& row);
// Django's str(): a user's email, a meeting's title, "Message object (7)" for the others.
std::string object_repr(const ConsoleRow& row);

struct Cell {
    std::string text;
    std::string href;      // a related object's change page, when the cell links to one
    int boolean = -1;      // -1: not a flag; else its value
};
Cell cell(const ConsoleRow& row, std::string_view column);

// A field's value as its form input holds it (a ticked checkbox: "1", unticked: "").
std::string form_value(const ConsoleRow& row, std::string_view field);
// A read-only field's label and text.
std::string readonly_label(std::string_view field);
std::string readonly_text(const ConsoleRow& row, std::string_view field);

// "2030-01-31 09:30:00" (and the microseconds when there are any), UTC.
std::string show_time(TimePoint t);

std::string admin_url(const ModelAdmin& m);  // the changelist
std::string admin_url(AdminModel model);
std::string change_url(AdminModel model, Id id);

}  // namespace castera::admin
