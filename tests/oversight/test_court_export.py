"""A court evidence export per alert (issue 22): the probe, the reference image, the score against the threshold, the
engine, the judgements and the stop record, with the inclusion proofs of their events, checked by the same offline
verifier; producing one needs a reason and is logged."""

import io
import zipfile

import pytest

from apps.audit.models import Event
from apps.audit.services import CONSULTATION_ACTION
from apps.matching.models import Alert

from .test_bundle import _rewrite, _verify

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
REASON = "R v Ashdown, Crown Court case T2026-0142: served on the defence"
SAME = "Same person: scar and ears"


def _export(api, actors, alert, tmp_path):
    response = api(actors.privacy).get(f"/api/oversight/alerts/{alert.pk}/court-export/", {"reason": REASON})
    assert response.status_code == 200, response.content
    path = tmp_path / "export.zip"
    path.write_bytes(b"".join(response.streaming_content) if response.streaming else response.content)
    return path


def test_an_export_verifies_offline_and_says_what_was_decided(actors, api, arrested, tmp_path):
    path = _export(api, actors, arrested, tmp_path)
    status, report = _verify(path)
    assert status == 0, report
    assert "probe.jpg is the face logged when the alert was raised" in report
    assert "score " in report and "at or above threshold 0.600" in report
    assert (
        "alert.adjudicated (true match by officer" in report
        and "alert.outcome (arrest; identity fingerprint, 7 min)" in report
    )
    assert "deployment.authorise" in report and "watchlist.approve" in report and "engine.approve" in report
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    assert {"probe.jpg", "reference.jpg", "alert.json", "scope.json", "verify_bundle.py"} <= names
    logged = Event.objects.get(action=CONSULTATION_ACTION, target_id=str(arrested.pk), reason=REASON)
    assert logged.data["export"] == "court"


def test_a_probe_swapped_for_another_face_fails(actors, api, arrested, tmp_path):
    path = _export(api, actors, arrested, tmp_path)

    def swap(files):
        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (160, 160), (90, 60, 40)).save(out, "JPEG")
        files["probe.jpg"] = out.getvalue()

    _rewrite(path, swap)
    status, report = _verify(path)
    assert status == 1 and "FAIL  probe.jpg is the face logged" in report


def test_an_event_left_out_of_the_export_fails(actors, api, arrested, tmp_path):
    path = _export(api, actors, arrested, tmp_path)

    def drop_outcome(files):
        lines = files["events.jsonl"].decode().splitlines()
        files["events.jsonl"] = (
            "\n".join(line for line in lines if '"action":"alert.outcome"' not in line) + "\n"
        ).encode()

    _rewrite(path, drop_outcome)
    status, report = _verify(path)
    assert status == 1 and "FAIL  event" in report and "alert.outcome" in report


def test_an_export_needs_a_reason_and_a_privacy_officer(actors, api, arrested):
    before = Event.objects.count()
    assert api(actors.privacy).get(f"/api/oversight/alerts/{arrested.pk}/court-export/").status_code == 400
    for who in (actors.oversight, actors.officer, actors.commander):
        response = api(who).get(f"/api/oversight/alerts/{arrested.pk}/court-export/", {"reason": REASON})
        assert response.status_code == 403, who
    assert Event.objects.count() == before


def test_the_page_asks_for_the_reason_then_serves_the_export(actors, client, arrested):
    client.force_login(actors.privacy)
    url = f"/oversight/alerts/{arrested.pk}/court-export.zip"
    asked = client.get(url)
    assert asked.status_code == 200 and asked["Content-Type"].startswith("text/html")
    served = client.get(url, {"reason": REASON})
    assert served.status_code == 200 and served["Content-Type"] == "application/zip"
    # The reason is not remembered for the next one: a link followed later asks again (from an outside review).
    again = client.get(url)
    assert again.status_code == 200 and again["Content-Type"].startswith("text/html")


def test_no_export_once_the_probe_was_deleted(actors, api, arrested):
    Alert.objects.filter(pk=arrested.pk).update(probe_ciphertext=b"", probe_deleted_at=arrested.created_at)
    response = api(actors.privacy).get(f"/api/oversight/alerts/{arrested.pk}/court-export/", {"reason": REASON})
    assert response.status_code == 409
