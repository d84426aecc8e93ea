"""seed_demo brings the unit's demo officers and a synthetic case at each stage, one overdue, idempotently."""

import pytest
from django.core.management import call_command

from apps.accounts.choices import Rank
from apps.accounts.models import User
from apps.audit.verification import verify
from apps.disclosures import demo, permissions
from apps.disclosures.choices import Stage
from apps.disclosures.models import DisclosureCase

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_seed_demo_makes_synthetic_cases_at_each_stage_and_one_overdue(tmp_path, monkeypatch):
    credentials = tmp_path / "c.txt"
    monkeypatch.setattr(demo, "credentials_file", lambda: credentials)
    call_command("seed_demo", password="demo-password-123", force=True, credentials_file=credentials)
    cases = DisclosureCase.objects.filter(reference__startswith="DEMO-")
    assert {case.stage for case in cases} == set(Stage.values)
    assert DisclosureCase.objects.overdue().count() == 1
    for case in cases:
        assert case.subject_name.startswith("SYNTHETIC") and (
            not case.applicant_name or "SYNTHETIC" in case.applicant_name
        )
    officer, sergeant = User.objects.get(username="ppu"), User.objects.get(username="ppu-sergeant")
    assert (
        permissions.is_case_worker(officer) and permissions.is_supervisor(sergeant) and sergeant.rank == Rank.SERGEANT
    )
    stored = dict(line.split(None, 1) for line in credentials.read_text().splitlines())
    assert {"ppu", "ppu-sergeant", "officer"} <= set(stored) and sergeant.check_password(stored["ppu-sergeant"])
    count = cases.count()
    call_command("seed_demo", password="demo-password-123", force=True, credentials_file=credentials)
    stored = dict(line.split(None, 1) for line in credentials.read_text().splitlines())
    assert sergeant.check_password(stored["ppu-sergeant"])  # seed_demo rewrote the file; ours are back in it
    assert DisclosureCase.objects.count() == count == 13
    assert verify().ok


def test_the_unit_accounts_may_come_from_seed_demo_itself(tmp_path, monkeypatch):
    """When seed_demo's DEMO_ACCOUNTS lists the unit's officers, the cases use them and no account is added."""
    from apps.accounts.choices import Role
    from apps.accounts.management.commands import seed_demo

    unit = "Public Protection Unit"
    listed = seed_demo.DEMO_ACCOUNTS
    assert ("ppu", "Dana", "Hale", Rank.CONSTABLE, unit, Role.OFFICER) in listed
    credentials = tmp_path / "c.txt"
    monkeypatch.setattr(demo, "credentials_file", lambda: credentials)
    call_command("seed_demo", password="demo-password-123", force=True, credentials_file=credentials)
    assert User.objects.count() == len(listed)
    assert DisclosureCase.objects.filter(officer_in_charge__username="ppu").count() == 13
