"""A privacy officer works through the pages from the home page: the access log (a person found by name, a record's
link followed, a heavy reader beside their peers, a CSV export), retention and a sweep, the misidentifications and the
equality figures, in a real browser."""

import pytest
from django.db import transaction

from apps.audit import services as audit
from apps.audit.models import Event
from apps.matching.models import Alert
from apps.watchlists.models import Subject
from govern.roles import Rank, Role

from .conftest import CountedPage, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def reads(reported, actors, make_user, settings):
    """Reads of the listed person's record: two officers read it three times each for a case, a third twelve times."""
    settings.ACCESS_HEAVY_READER_MINIMUM = 5
    subject = Subject.objects.get(pnc_id="56/000001C")
    peers = [make_user(f"pc{n}", Role.OFFICER, rank=Rank.CONSTABLE) for n in (2, 3)]
    for reader, times in ((peers[0], 3), (peers[1], 3), (actors.officer, 12)):
        for _ in range(times):
            with transaction.atomic():
                audit.record_access(subject, reader, f"Case CAD 4411/{reader.username}")
    return subject


def test_a_privacy_officer_works_the_access_log_retention_and_the_equality_figures(
    live_server, browser, reads, screenshots, tmp_path
):
    page = browser.new_page()
    sign_in(page, live_server.url, "privacy", PASSWORD)  # with the authenticator's code: the role needs a second factor
    journey = CountedPage(page)
    assert page.locator("section[data-role=privacy_officer] .inbox-items").count() == 1  # its inbox, first

    journey.follow("nav[aria-label=Menu] a[href='/oversight/access/']")
    journey.fill("#id_person", "Collins")  # the person, by name
    journey.follow("form.filters button[type=submit]")
    assert page.locator("#people-found").inner_text() == "1 person found by that name or PNC ID."
    assert page.locator("#access-rows tbody tr").count() == 18
    assert "officer (12 reads; peers' median 3)" in page.locator("#heavy-readers").inner_text()
    journey.click("#readers summary")  # the readers beside their peers on the same duty
    officer = page.locator("#readers tr[data-reader=officer]")
    assert officer.locator(".peer-median").inner_text() == "3" and "heavy reader" in officer.inner_text()
    page.screenshot(path=str(screenshots / "privacy-access-log.png"), full_page=True)
    with page.expect_download() as download:
        journey.click("#export-csv")
    saved = tmp_path / "access.csv"
    download.value.save_as(saved)
    assert saved.read_text().count("watchlists.subject") == 18
    assert Event.objects.filter(action="access_log.exported").count() == 1
    journey.follow("#access-rows a[data-record^='watchlists.subject']")  # the record: every read of it
    assert f"person={reads.pk}" in page.url and page.locator("#access-rows tbody tr").count() == 18

    journey.follow("nav.subnav a:text-is('Retention')")
    journey.follow("a:text('Preview what it would delete')")
    assert page.locator("#preview li").count() >= 1
    journey.follow("#run-sweep")
    assert "Retention sweep:" in page.locator("body").inner_text()

    journey.follow("nav.subnav a:text-is('Misidentifications')")
    journey.fill("#id_reason", "Quarterly review of false alerts, DPA-2026-3")
    journey.follow("main button[type=submit]")
    false_alert = Alert.objects.get(outcome="false_after_engagement")
    row = page.locator(f"#misidentifications tr[data-alert='{false_alert.pk}']")
    assert "After the stop" in row.inner_text() and "Collins" not in page.locator("main").inner_text()

    journey.follow("nav.subnav a:text-is('Equality')")
    assert page.locator("h1").inner_text() == "Equality monitoring" and page.locator("#monthly tbody tr").count() >= 1
    page.screenshot(path=str(screenshots / "privacy-equality.png"), full_page=True)
    assert journey.counts == {"clicks": 11, "lists": 0, "typed": 2}
