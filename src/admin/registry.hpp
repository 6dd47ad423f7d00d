// The six models of the admin console as Django's ModelAdmin describes them: names, list
// columns, filters, search, form fields and read-only fields (SPEC section 6). Pages are
// drawn from these; nothing else in admin/ knows a model's fields by heart, but the few
// functions of rows.hpp that read them out of a row.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "store/models.hpp"

namespace castera::admin {

struct Choice {
    std::string_view value;
    std::string_view label;
};

enum class Widget { text, textarea, email, url, select, checkbox, datetime, foreign_key, json, password };

struct FormField {
    std::string_view name;  // the model's column, as the POST names it
    std::string_view label;
    Widget widget = Widget::text;
    bool required = false;
    std::span<const Choice> choices = {};
    AdminModel target = AdminModel::user;  // what a foreign key points at
    std::string_view initial = {};         // on the add page
    std::string_view help = {};
};

// A changelist column: its header and, when it can be sorted, the field it sorts by.
struct Column {
    std::string_view name;  // what rows.hpp's cell() shows
    std::string_view header;
    std::string_view sort_field = {};
};

struct ListFilter {
    std::string_view field;
    std::string_view title;
    std::span<const Choice> choices;
};

struct ModelAdmin {
    AdminModel model;
    std::string_view app_label;
    std::string_view app_name;
    std::string_view model_name;
    std::string_view verbose_name;
    std::string_view verbose_name_plural;
    std::span<const Column> columns;
    std::span<const ListFilter> filters;
    std::string_view search_help;  // empty: the model has no search box
    std::span<const FormField> add_fields;
    std::span<const FormField> change_fields;
    std::span<const std::string_view> readonly;  // shown on the change page
};

std::span<const ModelAdmin> all_models();
const ModelAdmin& model_admin(AdminModel model);
const ModelAdmin* find_model(std::string_view app_label, std::string_view model_name);

// "meeting" -> "Meeting": Django's capfirst.
std::string capfirst(std::string_view text);

}  // namespace castera::admin
