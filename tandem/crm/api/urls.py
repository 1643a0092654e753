from django.urls import path, re_path

from tandem.crm.api import views

V = r"^services/data/v(?P<version>\d+\.\d+)"
urlpatterns = [
    path("services/data/", views.versions_view, name="api_versions"),
    re_path(rf"{V}/?$", views.resources_view),
    re_path(rf"{V}/query/?$", views.query_view),
    re_path(rf"{V}/queryAll/?$", views.query_all_view),
    re_path(rf"{V}/query/(?P<locator>[A-Za-z0-9]+-\d+)/?$", views.query_more_view),
    re_path(rf"{V}/queryAll/(?P<locator>[A-Za-z0-9]+-\d+)/?$", views.query_more_view),
    re_path(rf"{V}/sobjects/?$", views.sobjects_view),
    re_path(rf"{V}/sobjects/(?P<name>\w+)/?$", views.sobject_view),
    re_path(rf"{V}/sobjects/(?P<name>\w+)/describe/?$", views.describe_view),
    re_path(rf"{V}/sobjects/(?P<name>\w+)/(?P<record_id>\w+)/?$", views.record_view),
    re_path(rf"{V}/sobjects/(?P<name>\w+)/(?P<field>\w+)/(?P<key>[^/]+)/?$", views.upsert_view),
    re_path(rf"{V}/composite/sobjects/?$", views.composite_sobjects_view),
    re_path(rf"{V}/limits/?$", views.limits_view),
    re_path(rf"{V}/analytics/reports/(?P<report_id>\w+)/?$", views.report_view),
    re_path(rf"{V}/(?P<rest>(?s:.*))$", views.unknown_view),  # (?s): a newline too
]
