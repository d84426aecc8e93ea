"""Govern's production settings for the processes the scaling tests start, with static files served unhashed.

The production storage (whitenoise's manifest) needs `collectstatic` into the shared STATIC_ROOT first; these
processes serve the files from the source folders instead. Nothing else differs from govern.settings.base.
"""

from govern.settings.base import *  # noqa: F403

STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
