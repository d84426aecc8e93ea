"""The searches list reads whether each search's stills were all refused in its own query, not one query a row."""

import pytest

from apps.matching.choices import ProbeState, SearchState
from apps.matching.models import Probe, SearchRequest

pytestmark = pytest.mark.django_db

ROWS = 25


def _searches(officer, count: int) -> None:
    """Searches done, every other one with all its stills refused."""
    for number in range(count):
        search = SearchRequest.objects.create(
            reference=f"RFR-T{number:03}",
            submitted_by=officer,
            incident_reference=f"CAD {number}",
            crime_type="Theft",
            state=SearchState.READY,
            total=2,
            processed=2,
        )
        last = ProbeState.REFUSED if number % 2 else ProbeState.SEARCHED
        for position, state in enumerate((ProbeState.REFUSED, last)):
            Probe.objects.create(request=search, position=position, sha256="0" * 64, state=state)


def test_a_page_of_searches_asks_the_database_a_fixed_number_of_times(actors, client, django_assert_max_num_queries):
    client.force_login(actors.officer)
    client.get("/matching/searches/")  # the session, the menu and the policy's caches are warm after this
    _searches(actors.officer, ROWS)
    # The session, the account, the count, the page's rows and one more; a query a row was 30 for this page.
    with django_assert_max_num_queries(6):
        page = client.get("/matching/searches/")
    text = page.content.decode()
    assert page.status_code == 200
    cell = '<span class="state state-ready">{}</span>'
    assert text.count(cell.format("Every still was refused: no candidates to review")) == ROWS // 2
    assert text.count(cell.format("Candidates ready for review")) == ROWS - ROWS // 2


def test_one_search_still_says_so_without_the_list(actors):
    _searches(actors.officer, 2)
    ready, refused = SearchRequest.objects.order_by("reference")
    assert not ready.all_refused and refused.all_refused
    listed = {s.reference: s.all_refused for s in SearchRequest.objects.with_stills_refused()}
    assert listed == {"RFR-T000": False, "RFR-T001": True}
