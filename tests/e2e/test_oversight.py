"""The privacy officer opens the dashboard, sees a deployment whose ledger is short, and downloads its bundle."""

import io
import sys

import pytest
from django.db import connection

from apps.audit import verifier
from apps.matching.models import DeletionReceipt

from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_privacy_officer_finds_a_red_deployment_and_downloads_its_bundle(
    transactional_db, live_server, browser, ledgered, screenshots, tmp_path
):
    receipt = DeletionReceipt.objects.filter(deployment=ledgered).first()
    with connection.cursor() as cursor:  # a receipt lost behind the services' back
        cursor.execute("DELETE FROM matching_deletionreceipt WHERE id = %s", [receipt.pk])
    page = browser.new_page()
    sign_in(page, live_server.url, "privacy", "correct-horse-battery-staple")
    page.click("text=Oversight")
    row = page.locator(f"#reconciliation tr[data-deployment='{ledgered.reference}']")
    assert row.get_attribute("class") == "ledger-red"
    assert "1 face(s) processed with neither an alert nor a deletion receipt" in row.inner_text()
    page.screenshot(path=str(screenshots / "oversight-red.png"), full_page=True)
    row.locator("a").first.click()
    assert "Does not reconcile" in page.locator("#ledger-verdict").inner_text()
    with page.expect_download() as download:
        page.click("#download-bundle")
    saved = tmp_path / "bundle.zip"
    download.value.save_as(saved)
    out, sys.stdout = sys.stdout, io.StringIO()
    try:
        status = verifier.main([str(saved)])
        report = sys.stdout.getvalue()
    finally:
        sys.stdout = out
    # The offline check agrees with the dashboard: two deletion events in the log, one receipt left.
    assert status == 1 and "1 deletion receipts in the bundle for 2 deletion events" in report
