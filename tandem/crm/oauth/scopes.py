"""Scopes: those the connected app selected are available; its selection is the default."""

from __future__ import annotations

from typing import Any

from oauth2_provider.scopes import SettingsScopes


class ConnectedAppScopes(SettingsScopes):
    """An app may be granted only the OAuth scopes selected on it."""

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        if application is None:
            return []
        return list(application.scope_list)

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        if application is None:
            return []
        # refresh_token is asked for explicitly; a default grant is the app's other scopes.
        return [s for s in application.scope_list if s not in ("refresh_token", "offline_access")]
