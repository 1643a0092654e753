from tandem.crm.connectedapps import views  # noqa: F401

app_name = "crm_connectedapps"
urlpatterns: list[object] = []
