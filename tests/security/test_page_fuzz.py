"""The page fuzzer (issue 20, item 8): every page route, as every caller the table lets through, with hostile query
strings and form bodies, answers 4xx or a page, never a 5xx.

The schema fuzzer covers the API; the pages take query strings and forms of their own. Each request runs in a
savepoint of the permission matrix's world that is rolled back, so nothing it sends stays.
"""

from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from tests.security import permission_table as table
from tests.security.permission_table import ANONYMOUS
from tests.security.test_permission_matrix import REASON, _bodies, world  # noqa: F401  (the module's world fixture)

# What an attacker types: NUL, line breaks, dates past the calendar, numbers past every type, text for ids,
# nesting, and length.
HOSTILE = (
    "\x00",
    "reason\r\nInjected: yes",
    "9999-12-31",
    "0001-01-01",
    "-1",
    "abc",
    "9" * 40,
    "1e309",
    "' OR 1=1 --",
    "x" * 3000,
)
# Every query parameter a page reads, and a few it does not.
PARAMS = ("date", "view", "format", "reason", "probe", "since", "page", "q", "state", "next", "step", "subject",
          "sort", "deployment", "revision", "export", "kind", "from", "to")  # fmt: skip
PAGES = sorted(key for key in table.TABLE if not key.startswith("/api/"))


def _send(world, method: str, path: str, caller: str, data=None):  # noqa: F811
    client = world.client
    client.cookies = SimpleCookie()
    if caller != ANONYMOUS:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[caller]
    cache.clear()
    savepoint = transaction.savepoint()
    try:
        if method == "GET":
            return client.get(path)
        return client.post(path, data=data or {})
    finally:
        transaction.savepoint_rollback(savepoint)
        transaction.set_rollback(False)


def _hostile_body(body, value: str) -> dict:
    """The route's own form with every text field replaced by `value` (files and lists kept)."""
    body = body() if callable(body) else body
    if not isinstance(body, dict):
        return {"reason": value}
    return {name: (value if isinstance(field, str | int | float) else field) for name, field in body.items()}


@pytest.mark.django_db
@pytest.mark.slow
@pytest.mark.parametrize("key", PAGES)
def test_no_page_answers_5xx_to_hostile_query_strings_or_forms(world, key):  # noqa: F811
    access = table.TABLE[key]
    bodies = _bodies(world)
    path = world.path(key)
    problems = []
    for method in ("GET", "POST"):
        callers = sorted(access.methods.get(method, ())) or [ANONYMOUS]
        for caller in callers[:3]:
            for value in HOSTILE:
                if method == "GET":
                    query = urlencode(dict.fromkeys(PARAMS, value))
                    response = _send(world, "GET", f"{path}?{query}", caller)
                else:
                    response = _send(world, "POST", f"{path}?reason={REASON}", caller,
                                     _hostile_body(bodies.get(("POST", key), {}), value))  # fmt: skip
                if response.status_code >= 500:
                    problems.append(f"{method} as {caller} with {value[:20]!r}: {response.status_code}")
    assert not problems, f"{key}: {problems}"
