"""seed_demo brings three synthetic requests to the desk (one overdue, one to decide, one granted), idempotently,
and grants no restriction, so every demo subject may still be listed."""

import pytest
from django.core.management import call_command

from apps.audit.verification import verify
from apps.rights.choices import RequestState
from apps.rights.models import RightsRequest
from apps.watchlists import selectors as watchlist_selectors

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_seed_demo_brings_the_desk_three_synthetic_requests(tmp_path):
    credentials = tmp_path / "c.txt"
    call_command("seed_demo", password="demo-password-123", force=True, credentials_file=credentials)
    requests = RightsRequest.objects.with_clocks()
    assert requests.count() == 3 and all(row.requester_name.startswith("SYNTHETIC") for row in requests)
    assert requests.filter(is_overdue=True).count() == 1
    assert {row.state for row in requests} == {RequestState.RECEIVED, RequestState.VERIFIED, RequestState.DECIDED}
    assert requests.get(state=RequestState.DECIDED).subject is not None
    assert watchlist_selectors.restricted_subject_ids() == set()
    call_command("seed_demo", password="demo-password-123", force=True, credentials_file=credentials)
    assert RightsRequest.objects.count() == 3
    assert verify().ok
