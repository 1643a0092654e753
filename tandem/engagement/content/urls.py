"""Content URLs (mounted at /email/content/)."""

from django.urls import path

from tandem.engagement.content import views

app_name = "engagement_content"

urlpatterns = [
    path("", views.library, name="library"),
    path("my-documents/", views.my_documents, name="my_documents"),
    path("folders/new/", views.folder_create, name="folder_create"),
    path("folders/<int:folder_id>/", views.folder_detail, name="folder"),
    path("folders/<int:folder_id>/delete/", views.folder_delete, name="folder_delete"),
    path("folders/<int:folder_id>/upload/", views.upload, name="upload"),
    path("files/<int:file_id>/", views.file_detail, name="file"),
    path("files/<int:file_id>/download/", views.download, name="download"),
    path("files/<int:file_id>/rename/", views.rename, name="rename"),
    path("files/<int:file_id>/delete/", views.delete, name="delete"),
]
