"""The storage behind Content files: any Django storage backend, chosen by setting."""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from django.conf import settings
from django.core.files.storage import Storage
from django.core.signals import setting_changed
from django.utils.module_loading import import_string


@cache
def content_storage() -> Storage:
    """The configured storage (ENGAGEMENT_CONTENT_STORAGE: BACKEND and OPTIONS)."""
    config = cast(dict[str, Any], settings.ENGAGEMENT_CONTENT_STORAGE)
    backend: type[Storage] = import_string(str(config["BACKEND"]))
    return backend(**dict(config.get("OPTIONS") or {}))


def _forget_storage(*, setting: str, **kwargs: object) -> None:
    # Tests override the setting; the next call builds a storage from the new value.
    if setting in {"ENGAGEMENT_CONTENT_STORAGE", "MEDIA_ROOT"}:
        content_storage.cache_clear()


setting_changed.connect(_forget_storage)
