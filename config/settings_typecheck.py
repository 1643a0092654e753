"""Settings for mypy's Django plugin only: every app of both services, so both are typed.

Never used to run anything (two user models cannot serve one process).
"""

from config.settings import *  # noqa: F403
from config.settings import COMMON_APPS, CRM_APPS, ENGAGEMENT_APPS

INSTALLED_APPS = COMMON_APPS + CRM_APPS + ENGAGEMENT_APPS
