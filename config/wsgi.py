"""WSGI entry point for either service (TANDEM_SERVICE selects which).

Both are wrapped in `ChunkedBodyMiddleware`, so every endpoint reads chunked request bodies.
"""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from tandem.core.wsgi import ChunkedBodyMiddleware, plain_refusal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

if settings.SERVICE == "crm":
    from tandem.crm.refusals import crm_body_limit, crm_refusal

    application = ChunkedBodyMiddleware(
        django_application, max_bytes=crm_body_limit, refuse=crm_refusal
    )
else:
    # The largest upload an Engagement page accepts, plus room for the multipart framing.
    largest = max(settings.ENGAGEMENT_IMPORT_MAX_BYTES, settings.ENGAGEMENT_CONTENT_MAX_BYTES)
    application = ChunkedBodyMiddleware(
        django_application, max_bytes=lambda path: largest + 1024 * 1024, refuse=plain_refusal
    )
