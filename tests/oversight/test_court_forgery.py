"""A doctored court export fails however carefully its manifest was rewritten (found by an outside review of issue
22): forged or extra events, a swapped or unlisted reference image, an alert.json that lies, malformed files; and the
reference image is the one the authorised list held, not whatever the entry holds now."""

import hashlib
import io
import json
import zipfile

import pytest

from .test_bundle import _verify
from .test_court_export import _export

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _rewrite(path, change, drop=()):
    """Apply change(files); files in `drop` leave the manifest; manifest hashes kept honest."""
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    change(files)
    manifest = json.loads(files["manifest.json"])
    names = [n for n in manifest["files"] if n not in drop]
    manifest["files"] = {name: hashlib.sha256(files[name]).hexdigest() for name in names}
    files["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)


def test_a_forged_unsigned_alert_raised_event_changes_score_threshold_engine(actors, api, arrested, tmp_path):
    path = _export(api, actors, arrested, tmp_path)

    def forge(files):
        lines = files["events.jsonl"].decode().splitlines()
        real = next(json.loads(line) for line in lines if '"action":"alert.raised"' in line)
        fake = dict(real, seq=0)
        fake["data"] = dict(real["data"], score=0.999, threshold="0.500", engine="forged-engine")
        files["events.jsonl"] = ("\n".join([json.dumps(fake), *lines]) + "\n").encode()
        record = json.loads(files["alert.json"])
        record.update(score=0.999, threshold="0.500", engine="forged-engine")
        files["alert.json"] = json.dumps(record).encode()

    _rewrite(path, forge)
    status, report = _verify(path)
    assert status == 1 and "forged-engine" not in report
    assert "FAIL  events.jsonl holds exactly the signed events" in report


def test_reference_image_swapped_and_dropped_from_manifest(actors, api, arrested, tmp_path):
    path = _export(api, actors, arrested, tmp_path)

    def swap(files):
        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (160, 160), (10, 200, 40)).save(out, "JPEG")
        files["reference.jpg"] = out.getvalue()

    _rewrite(path, swap, drop=("reference.jpg",))
    status, report = _verify(path)
    with zipfile.ZipFile(path) as archive:
        assert "reference.jpg" in archive.namelist()
    assert status == 1 and "FAIL  reference.jpg is the file signed for" in report
    assert "the zip holds only the files its manifest lists (not reference.jpg)" in report


def test_alert_json_lies_about_the_stop_and_the_judgement(actors, api, arrested, tmp_path):
    path = _export(api, actors, arrested, tmp_path)

    def lie(files):
        record = json.loads(files["alert.json"])
        record.update(
            id=999999,
            outcome="false_after_engagement",
            state="false",
            stop_minutes=600,
            identity_check="not_checked",
            adjudicated_by="someone-else",
            adjudication_reason="Looked nothing alike",
            complaint_reference="PSD-9",
            perceived={"sex": "female", "age": "under_18", "ethnicity": "black"},
            candidates=[],
        )
        files["alert.json"] = json.dumps(record).encode()

    _rewrite(path, lie)
    status, report = _verify(path)
    assert status == 1 and "FAIL  alert.json is the file signed for" in report


def test_a_doctored_duplicate_of_a_signed_event_rides_along(actors, api, arrested, tmp_path):
    path = _export(api, actors, arrested, tmp_path)

    def dup(files):
        lines = files["events.jsonl"].decode().splitlines()
        index = next(i for i, line in enumerate(lines) if '"action":"alert.outcome"' in line)
        doctored = lines[index].replace('"outcome":"arrest"', '"outcome":"false_after_engagement"')
        assert doctored != lines[index]
        lines.insert(0, doctored)  # earlier in the file; the genuine one later wins in the verifier's dict
        lines.reverse()  # and the file reordered too
        lines.reverse()
        files["events.jsonl"] = ("\n".join(lines) + "\n").encode()

    _rewrite(path, dup)
    status, report = _verify(path)
    assert status == 1 and "FAIL  events.jsonl holds exactly the signed events" in report


def test_extra_unsigned_events_are_ignored(actors, api, arrested, tmp_path):
    path = _export(api, actors, arrested, tmp_path)

    def add(files):
        extra = {
            "seq": 10**6,
            "action": "alert.adjudicated",
            "actor": "inspector",
            "reason": "No match at all",
            "target_type": "matching.alert",
            "target_id": str(arrested.pk),
            "data": {"match": False},
        }
        files["events.jsonl"] += (json.dumps(extra) + "\n").encode()

    _rewrite(path, add)
    status, report = _verify(path)
    assert status == 1 and "FAIL  events.jsonl holds exactly the signed events" in report


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.__setitem__("alert.json", b'{"score": 1' + b"0" * 400 + b"}"),
        lambda f: f.__setitem__("alert.json", b"[" * 100000 + b"]" * 100000),
        lambda f: f.__setitem__("scope.json", b"[" * 100000 + b"]" * 100000),
        lambda f: f.__setitem__("proofs.json", b'{"hashes": ["zz"], "paths": []}'),
        lambda f: f.__setitem__("proofs.json", b'{"hashes": 5, "paths": []}'),
        lambda f: f.__setitem__("scope.json", b'{"statement": {"events": [1]}, "signature": "", "key_id": null}'),
        lambda f: f.__setitem__("scope.json", b'{"statement": {"events": [{"seq": [1]}]}, "signature": ""}'),
        lambda f: f.__setitem__(
            "events.jsonl",
            b'{"seq": 1, "action": "alert.raised", "data": {"score": 1' + b"0" * 400 + b', "threshold": 1}}\n',
        ),
        lambda f: f.__setitem__("checkpoints.json", b'{"covering": [], "latest": {}, "consistency": []}'),
        lambda f: f.__setitem__("checkpoints.json", b"[]"),
    ],
)
def test_malformed_court_export_never_crashes(actors, api, arrested, tmp_path, change):
    path = _export(api, actors, arrested, tmp_path)
    _rewrite(path, change)
    try:
        status, report = _verify(path)
    except BaseException as exc:
        pytest.fail(f"uncaught {exc!r}"[:300])
    assert status == 1, report


def test_the_reference_image_is_the_one_the_authorised_list_held(actors, api, arrested, astronaut, tmp_path):
    import datetime

    from PIL import Image, ImageOps

    from apps.watchlists.choices import LegalBasis
    from apps.watchlists.models import Entry
    from apps.watchlists.services import custody
    from apps.watchlists.services import watchlists as lists

    entry = Entry.objects.get(pk=arrested.entry_id)
    original = entry.image.sha256
    out = io.BytesIO()
    ImageOps.mirror(Image.open(io.BytesIO(astronaut))).save(out, "JPEG")
    newer = custody.upload_image(
        actors.compiler,
        entry.subject,
        out.getvalue(),
        captured_on=datetime.date(2026, 1, 6),
        source_system="Another photo",
        legal_basis=LegalBasis.OTHER_LAWFUL,
        legal_basis_note="Test: mirrored",
    )
    lists.update_entry(actors.compiler, entry, image=newer)
    path = _export(api, actors, arrested, tmp_path)
    with zipfile.ZipFile(path) as archive:
        reference = hashlib.sha256(archive.read("reference.jpg")).hexdigest()
    status, report = _verify(path)
    assert reference == original != newer.sha256  # the image the alert was matched against, not the entry's new one
    assert status == 0 and "OK    reference.jpg is the file signed for" in report
