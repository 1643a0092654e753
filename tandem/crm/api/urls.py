from django.urls import re_path

from tandem.crm.api import search, views

# A leading "/" more is accepted: jsforce requests `//services/data/…` when the instance URL it
# was given ends with a slash (sf's access-token login stores it so). Spelled `(?:/)?`, not
# `/?`: Django's check urls.W002 would warn about a pattern that begins with "^/" on every
# command.
SLASH = r"^(?:/)?"
V = rf"{SLASH}services/data/v(?P<version>\d+\.\d+)"
urlpatterns = [
    # With or without the trailing slash: sf discovers versions at `/services/data`.
    re_path(rf"{SLASH}services/data/?$", views.versions_view, name="api_versions"),
    re_path(rf"{V}/?$", views.resources_view),
    re_path(rf"{V}/query/?$", views.query_view),
    re_path(rf"{V}/queryAll/?$", views.query_all_view),
    re_path(rf"{V}/query/(?P<locator>[A-Za-z0-9]+-\d+)/?$", views.query_more_view),
    re_path(rf"{V}/queryAll/(?P<locator>[A-Za-z0-9]+-\d+)/?$", views.query_more_view),
    re_path(rf"{V}/sobjects/?$", views.sobjects_view),
    re_path(rf"{V}/sobjects/(?P<name>\w+)/?$", views.sobject_view),
    re_path(rf"{V}/sobjects/(?P<name>\w+)/describe/?$", views.describe_view),
    re_path(rf"{V}/sobjects/(?P<name>\w+)/updated/?$", views.updated_view),
    re_path(rf"{V}/sobjects/(?P<name>\w+)/deleted/?$", views.deleted_view),
    re_path(rf"{V}/sobjects/(?P<name>\w+)/(?P<record_id>\w+)/?$", views.record_view),
    re_path(
        rf"{V}/sobjects/(?P<name>\w+)/(?P<field>\w+)/(?P<key>[^/]+)/?$", views.external_id_view
    ),
    re_path(rf"{V}/composite/?$", views.composite_view),
    re_path(rf"{V}/composite/batch/?$", views.composite_batch_view),
    re_path(rf"{V}/composite/tree/(?P<name>\w+)/?$", views.composite_tree_view),
    re_path(rf"{V}/composite/sobjects/?$", views.composite_sobjects_view),
    re_path(rf"{V}/composite/sobjects/(?P<name>\w+)/?$", views.composite_sobjects_retrieve_view),
    re_path(
        rf"{V}/composite/sobjects/(?P<name>\w+)/(?P<field>\w+)/?$",
        views.composite_sobjects_upsert_view,
    ),
    re_path(rf"{V}/limits/?$", views.limits_view),
    re_path(rf"{V}/limits/recordCount/?$", views.record_counts_view),
    re_path(rf"{V}/analytics/reports/?$", views.reports_view),
    re_path(rf"{V}/analytics/reports/(?P<report_id>\w+)/?$", views.report_view),
    re_path(rf"{V}/analytics/reports/(?P<report_id>\w+)/describe/?$", views.report_describe_view),
    re_path(rf"{V}/search/?$", search.search_view),
    re_path(rf"{V}/parameterizedSearch/?$", search.parameterized_search_view),
    re_path(rf"{V}/(?P<rest>[\s\S]*)$", views.unknown_view),
    # Anything else under /services/data answers Salesforce's JSON 404, not Django's page.
    re_path(rf"{SLASH}services/data/[\s\S]*$", views.not_found_view),
]
