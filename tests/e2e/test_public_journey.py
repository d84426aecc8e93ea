"""Anyone, without signing in, goes from /public/ to a completed deployment's report, its year's report and FOI pack,
and how the figures are derived: every link on the way answers, and nothing shown names or pictures a person."""

import zipfile
from urllib.parse import urljoin, urlsplit

import pytest

from tests.public_fixtures import JUDGE

from .conftest import CountedPage

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
# What would identify a person in the seeded records: the listed subject, their PNC ID, the officers and commanders.
PERSONAL = ("Collins", "Eileen", "56/000001C", "Wilhelmina", "Hartnell", JUDGE, "commander", "compiler", "supt")


def _links_answer(page, base, checked):
    """Every link on the page to Govern answers 200 (the service's name leads to the sign-in page), each fetched once
    (its fragment aside)."""
    for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
        url = urljoin(page.url, href).split("#")[0]
        if urlsplit(url).netloc != urlsplit(base).netloc or url in checked:
            continue
        checked.add(url)
        answer = page.request.get(url)
        assert answer.status == 200, f"{url} from {page.url}: {answer.status}"
        assert urlsplit(answer.url).path in (urlsplit(url).path, "/accounts/login/"), f"{url} went to {answer.url}"
        if not url.endswith(".zip"):  # the pages' CSV, JSON and Atom too: nothing in them names a person
            body = answer.text().lower()
            assert not [word for word in PERSONAL if word.lower() in body], url


def _nothing_personal(page):
    shown = page.locator("body").inner_text()
    assert not [word for word in PERSONAL if word.lower() in shown.lower()], page.url
    assert page.locator("main img").count() == 0  # no face, no still


def test_anyone_finds_a_report_the_annual_report_its_foi_pack_and_the_method(
    transactional_db, live_server, browser, reported, tmp_path
):
    base, checked = live_server.url, set()
    page = browser.new_page()
    journey = CountedPage(page)
    page.goto(f"{base}/public/")
    _links_answer(page, base, checked)
    _nothing_personal(page)

    journey.follow("#completed-link")
    _links_answer(page, base, checked)
    _nothing_personal(page)
    journey.follow(f"table.published a:text('{reported.reference}')")
    assert page.url.endswith(f"/public/deployments/{reported.reference}/")
    _links_answer(page, base, checked)
    _nothing_personal(page)

    journey.follow("text=the annual report for")
    year = reported.start.year
    assert page.url.endswith(f"/public/annual/{year}/")
    _links_answer(page, base, checked)
    _nothing_personal(page)
    with page.expect_download() as download:
        journey.click("#foi-pack")
    pack = tmp_path / "foi.zip"
    download.value.save_as(pack)
    with zipfile.ZipFile(pack) as archive:
        names = archive.namelist()
        text = " ".join(archive.read(name).decode() for name in names if name.endswith(".csv"))
    assert reported.reference in text and not [word for word in PERSONAL if word.lower() in text.lower()]

    journey.follow("nav.subnav a:text-is('How the figures are derived')")
    assert page.url.endswith("/public/method/")
    _links_answer(page, base, checked)
    _nothing_personal(page)
    assert len(checked) >= 15  # the pages, their CSV, JSON and Atom, the FOI pack, the API's docs, the sign-in page
    assert journey.counts == {"clicks": 5, "lists": 0, "typed": 0}
