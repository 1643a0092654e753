"""The Salesforce OAuth paths, served on the login URL and on every My Domain host."""

from django.urls import path
from oauth2_provider.views import JwksInfoView

from tandem.crm.oauth.views import authorize, resources, token

app_name = "crm_oauth"
urlpatterns = [
    path("services/oauth2/authorize", authorize.AuthorizeView.as_view(), name="authorize"),
    path("services/oauth2/authorize/switch-user", authorize.switch_user, name="switch_user"),
    path("services/oauth2/token", token.TokenView.as_view(), name="token"),
    path("services/oauth2/revoke", resources.RevokeView.as_view(), name="revoke"),
    path("services/oauth2/introspect", resources.IntrospectView.as_view(), name="introspect"),
    path("services/oauth2/userinfo", resources.UserInfoView.as_view(), name="userinfo"),
    path("id/keys", JwksInfoView.as_view(), name="jwks"),
    path("id/<str:org_id>/<str:user_id>", resources.IdentityView.as_view(), name="identity"),
    path(".well-known/openid-configuration", resources.discovery, name="discovery"),
    path(".well-known/oauth-authorization-server", resources.discovery, name="as_metadata"),
]
