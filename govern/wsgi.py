"""WSGI entry point (gunicorn govern.wsgi).

Each worker runs Django's system checks before it serves, as `manage.py` does: a key file other users can read
(govern.E001) or any other error stops the server at start instead of being found later.
"""

import io
import os

from django.core.management import call_command
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govern.settings.base")
application = get_wsgi_application()
call_command("check", fail_level="ERROR", stdout=io.StringIO())
