"""A commander's day with the registers, in a real browser (issue 23): a van registered, its camera credential
issued and shown once (and accepted by the capture endpoint), revoked; a DPIA version recorded by the data protection
officer and approved by the commander; the van retired."""

import datetime

import pytest

from apps.accounts.services import accounts
from apps.audit.models import Event
from apps.deployments.models import Asset, PolicyDocument
from govern.roles import Rank, Role

from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "browser-test-password"


@pytest.fixture
def people(transactional_db):
    accounts.create_user(None, "supt", PASSWORD, roles=[Role.AUTHORISING_OFFICER], rank=Rank.SUPERINTENDENT)
    accounts.create_user(None, "dpo", PASSWORD, roles=[Role.PRIVACY_OFFICER])


def _frame_status(page, base: str, credential: str) -> int:
    """What the capture endpoint answers a frame sent with this credential (a JPEG's first bytes are enough). The
    first asks the face engine its identity, which loads it: minutes on a busy machine."""
    headers = {"Authorization": f"Camera {credential}", "Content-Type": "image/jpeg"}
    url = f"{base}/api/matching/capture/"
    return page.request.post(url, data=b"\xff\xd8\xff\xd9", headers=headers, timeout=300_000).status


def test_register_issue_revoke_record_approve_retire(live_server, browser, people, screenshots):
    base = live_server.url
    page = browser.new_page()
    sign_in(page, base, "dpo", PASSWORD)
    page.goto(f"{base}/deployments/documents/")
    page.select_option("#id_kind", "dpia")
    page.fill("#id_version", "2027.1")
    page.fill("#id_title", "DPIA for live facial recognition")
    page.fill("#id_review_by", (datetime.date.today() + datetime.timedelta(days=20)).isoformat())
    page.click("#record-document button")
    assert "another authorising officer approves it" in page.locator("ul.messages").inner_text()
    page.click("text=Sign out")

    sign_in(page, base, "supt", PASSWORD)
    page.goto(f"{base}/deployments/documents/")
    page.click("text=Approve Data protection impact assessment v2027.1")
    assert PolicyDocument.objects.get().approved_on is not None
    assert "2027.1" in page.locator("#due-for-review").inner_text()  # its review date is 20 days away

    page.click("text=Vans and cameras")
    page.select_option("#id_kind", "van")
    page.fill("#id_identifier", "LFR-VAN-12")
    page.click("#register-asset button")
    assert "LFR-VAN-12" in page.locator("#assets").inner_text()
    page.click("#assets a:has-text('Credentials')")
    page.click("#issue-form button")
    credential = page.locator("#secret").input_value()
    page.screenshot(path=str(screenshots / "credential-issued.png"), full_page=True)
    # Recognised: the van is refused only because it is booked on no live deployment (403), not as unknown (401).
    assert _frame_status(page, base, credential) == 403
    page.reload()  # the browser sends the form again: refused, so the secret just handed out stays the one in force
    assert "was issued since this page was shown" in page.locator("ul.messages").inner_text()
    assert page.locator("#secret").count() == 0 and credential not in page.content()
    page.fill("textarea[name=reason]", "Laptop left unattended in the van")
    page.click("#credentials button")
    assert "Revoked" in page.locator("#credentials").inner_text()
    assert _frame_status(page, base, credential) == 401

    page.click("text=Vans and cameras")
    page.fill("#assets textarea[name=reason]", "Written off after a collision")
    page.click("#assets >> text=Retire LFR-VAN-12")
    assert "Retired" in page.locator("#assets").inner_text()
    assert not Asset.objects.get().active
    assert Event.objects.filter(action__in=["asset.retire", "camera.credential_revoked"]).count() == 2
