"""seed_demo brings the unit's demo officers and a synthetic case at each stage, one overdue, idempotently."""

import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.audit.verification import verify
from apps.disclosures import permissions
from apps.disclosures.choices import Stage
from apps.disclosures.models import DisclosureCase
from govern.roles import Rank

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_seed_demo_makes_synthetic_cases_at_each_stage_and_one_overdue(tmp_path):
    credentials = tmp_path / "c.txt"
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
    assert sergeant.check_password(stored["ppu-sergeant"])
    assert DisclosureCase.objects.count() == count == 13
    assert verify().ok


def test_the_unit_accounts_are_seed_demos_own(tmp_path):
    """seed_demo lists the unit's officers, so the cases use them and no account is added behind its back."""
    from apps.accounts.management.commands import seed_demo
    from govern.roles import Role

    assert ("ppu", "Dana", "Hale", Rank.CONSTABLE, "Public Protection Unit", Role.OFFICER) in seed_demo.DEMO_ACCOUNTS
    call_command("seed_demo", password="demo-password-123", force=True, credentials_file=tmp_path / "c.txt")
    assert User.objects.count() == len(seed_demo.DEMO_ACCOUNTS)
    assert DisclosureCase.objects.filter(officer_in_charge__username="ppu").count() == 13
