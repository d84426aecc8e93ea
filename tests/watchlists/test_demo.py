"""seed_demo brings synthetic subjects, a draft and an approved watchlist, all marked as synthetic."""

import pytest
from django.core.management import call_command

from apps.audit.verification import verify
from apps.watchlists.choices import WatchlistState
from apps.watchlists.models import Subject, Watchlist

pytestmark = pytest.mark.django_db


def test_seed_demo_makes_synthetic_watchlists_idempotently(tmp_path):
    call_command("seed_demo", password="demo-password-123", force=True, credentials_file=tmp_path / "c.txt")
    subjects = Subject.objects.filter(pnc_id__startswith="00/")
    assert subjects.count() == 5 and all(subject.images.count() == 1 for subject in subjects)
    assert {image.source_system for s in subjects for image in s.images.all()} == {
        "Synthetic demo data (not a real custody record)"
    }
    lists = Watchlist.objects.all()
    assert {WatchlistState.DRAFT, WatchlistState.APPROVED} <= {w.state for w in lists}
    assert all(w.purpose.startswith("SYNTHETIC DEMO") for w in lists)
    count = lists.count()
    call_command("seed_demo", password="demo-password-123", force=True, credentials_file=tmp_path / "c.txt")
    assert Watchlist.objects.count() == count and Subject.objects.count() == 5
    assert verify().ok
