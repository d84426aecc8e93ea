"""Shared fixtures: named actors (one per role, and an outsider), API clients, and the append-only flush."""

import os

import pytest
from rest_framework.test import APIClient

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses that unless told it is safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct-horse-battery-staple"
pytest_plugins = [
    "tests.watchlist_fixtures",
    "tests.deployment_fixtures",
    "tests.matching_fixtures",
    "tests.oversight_fixtures",
    "tests.public_fixtures",
]


def pytest_configure(config):
    """Let Django's test flush empty the append-only audit tables, and only that flush.

    Transactional tests end with a TRUNCATE of every table; the audit triggers rightly refuse it. The flush
    (test-only code) runs with session_replication_role = replica for its own transaction, which skips
    ordinary triggers; it needs a superuser, which the embedded test server provides.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        return original(self, ["SET LOCAL session_replication_role = replica", *sql_list])

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    _verify_second_factor_on_test_login()


def _verify_second_factor_on_test_login():
    """`client.force_login(user)` and `client.login(...)` sign in fully: for a role that needs a second factor, the
    user gets a confirmed authenticator (if none) and the session is marked verified by it, as django-otp's
    `login` does after a right code. Tests of the second step itself sign in through the pages instead
    (tests/security/test_two_factor.py), or call `unverify(client)`."""
    from django.test.client import ClientMixin

    original = ClientMixin._login

    def _login(self, user, backend=None):
        original(self, user, backend)
        user.refresh_roles()
        if user.needs_second_factor:
            from django_otp import DEVICE_ID_SESSION_KEY
            from django_otp.plugins.otp_totp.models import TOTPDevice

            from apps.accounts.services import two_factor

            # Created directly, not through the service: a test's own count of audit events stays its own.
            device = two_factor.confirmed_device(user) or TOTPDevice.objects.create(
                user=user, name=two_factor.DEVICE_NAME, confirmed=True
            )
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    ClientMixin._login = _login


def unverify(client) -> None:
    """Undo the test login's second factor: the session is signed in with the password only."""
    from django_otp import DEVICE_ID_SESSION_KEY

    session = client.session
    session.pop(DEVICE_ID_SESSION_KEY, None)
    session.save()


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections_before_teardown(django_db_setup, django_db_blocker):
    """The live server's threads may leave a connection open; end it so the test database can be dropped."""
    yield
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Each test starts with no request counted against the API's throttles (Django's local-memory cache)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def make_user(db):
    """Create an account with roles through the accounts service (as the system)."""
    from apps.accounts.services import accounts

    def make(username, *roles, rank="", **profile):
        return accounts.create_user(
            None, username, PASSWORD, roles=list(roles), rank=rank, force=profile.pop("force", "Test Force"), **profile
        )

    return make


@pytest.fixture
def actors(make_user):
    """The named actors every test shares."""
    from govern.roles import Rank, Role

    class Actors:
        commander = make_user("commander", Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT)
        compiler = make_user("compiler", Role.WATCHLIST_COMPILER)
        officer = make_user("officer", Role.OFFICER, rank=Rank.CONSTABLE)
        privacy = make_user("privacy", Role.PRIVACY_OFFICER)
        oversight = make_user("oversight", Role.OVERSIGHT)
        retail = make_user("retail", Role.RETAIL_PARTNER)
        admin = make_user("admin", Role.ADMINISTRATOR)
        outsider = make_user("outsider")

    return Actors


@pytest.fixture
def redaction_floor(db):
    """Set the audit trigger's redaction floor (migration 0007) to so many days for this test, as a deployment with
    that ACCESS_LOG_MIN_DAYS would have it: the test database's events are all from today. Rolled back with the test."""
    from django.db import connection

    def set_floor(days: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE OR REPLACE FUNCTION audit_redaction_floor_days() RETURNS integer LANGUAGE sql STABLE "
                f"AS $$ SELECT {int(days)} $$"
            )

    return set_floor


@pytest.fixture
def api():
    """An API client for a user (or anonymous with None)."""

    def client_for(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for
