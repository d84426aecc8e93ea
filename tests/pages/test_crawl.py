"""Every demo role, signed in, follows every link it is shown: no page answers 403, 404 or 5xx (issue 23, item 2).

The menu, the home page's inbox and every page's own links are drawn for the person; a link to a page they may not
open is a bug on the page that showed it. Django's test client (fast); the browser tests visit the same pages.
"""

import re
from collections import Counter

import pytest
from django.core.management import call_command

from apps.accounts.management.commands.seed_demo import DEMO_ACCOUNTS
from apps.accounts.models import User
from tests.pages.crawl import crawl

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def demo(tmp_path):
    call_command("seed_demo", password="crawl-test-password", force=True, credentials_file=tmp_path / "creds.txt")


@pytest.mark.parametrize("username", [account[0] for account in DEMO_ACCOUNTS])
def test_no_link_shown_to_a_role_leads_to_a_refusal_or_a_missing_page(demo, client, username):
    client.force_login(User.objects.get(username=username))
    repeated = {}

    def unique_ids(url, html):
        """An id twice on a page leaves the second control without its label (axe cannot always tell)."""
        twice = [name for name, count in Counter(re.findall(r'\sid="([^"]+)"', html)).items() if count > 1]
        if twice:
            repeated[url] = twice

    statuses = crawl(client, check=unique_ids)
    assert not repeated, repeated
    broken = {url: found for url, found in statuses.items() if found[0] in (403, 404) or found[0] >= 500}
    assert not broken, broken
    assert len(statuses) > 5, statuses  # the menu and the inbox were followed
