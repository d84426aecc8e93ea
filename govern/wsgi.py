"""WSGI entry point (gunicorn govern.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govern.settings.base")
application = get_wsgi_application()
