"""`manage.py evaluate_engine`: the engine in force run over a face set in LFW's layout, the report stored with the
engine's and the set's hashes, logged, printed; a broken image is reported and left out, not fatal."""

import hashlib
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image, ImageEnhance, ImageOps

from apps.audit.models import Event
from apps.matching.engine import get_engine
from apps.matching.models import EngineEvaluation

pytestmark = [pytest.mark.django_db]
PORTRAIT = Path(__file__).resolve().parents[2] / "apps" / "watchlists" / "demo_faces" / "astronaut.jpg"


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def face_set(tmp_path):
    """Four "people", every one of them the same public-domain portrait (Eileen Collins) altered: an engine that
    recognises people would still call them one person; a broken file and a faceless image among them."""
    portrait = Image.open(PORTRAIT).convert("RGB")
    people = {
        "collins": [portrait, ImageOps.mirror(portrait)],
        "double_a": [ImageEnhance.Brightness(portrait).enhance(0.6)],
        "double_b": [portrait.rotate(6), ImageEnhance.Contrast(portrait).enhance(0.7)],
    }
    for person, images in people.items():
        (tmp_path / person).mkdir()
        for number, image in enumerate(images, start=1):
            (tmp_path / person / f"{person}_{number:04d}.jpg").write_bytes(_jpeg(image))
    (tmp_path / "double_a" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (tmp_path / "double_a" / "wall.jpg").write_bytes(_jpeg(Image.new("RGB", (200, 200), (128, 128, 128))))
    (tmp_path / "notes.txt").write_text("ignored: not in a person's folder")
    return tmp_path


def _set_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for person in sorted(p for p in folder.iterdir() if p.is_dir()):
        for file in sorted(person.iterdir()):
            name, content = f"{person.name}/{file.name}".encode(), file.read_bytes()
            digest.update(len(name).to_bytes(8, "big") + name + len(content).to_bytes(8, "big") + content)
    return digest.hexdigest()


def test_the_report_is_stored_with_the_hashes_logged_and_printed(actors, face_set, tmp_path_factory):
    labels = tmp_path_factory.mktemp("labels") / "labels.csv"
    labels.write_text("identity,sex,age_band,ethnic_group\ncollins,female,35_44,white\ndouble_b,female,,\n")
    out = io.StringIO()
    call_command(
        "evaluate_engine", str(face_set), "--as", "privacy", "--labels", str(labels), "--thresholds", "0.6", "1",
        stdout=out,
    )  # fmt: skip
    report = EngineEvaluation.objects.get()
    engine = get_engine()
    assert (report.engine_name, report.engine_weights_sha256) == (engine.name, engine.weights_sha256)
    assert report.set_sha256 == _set_hash(face_set) and report.run_by == actors.privacy
    assert report.labels_sha256 == hashlib.sha256(labels.read_bytes()).hexdigest()
    assert report.thresholds == ["0.600", "1.000"]
    left_out = {problem["image"]: problem["problem"] for problem in report.problems}
    assert "not a usable image" in left_out["double_a/broken.jpg"] and left_out["double_a/wall.jpg"] == "no face found"
    figures = report.figures
    assert figures["images"] == 5 and figures["identities"] == 3 and figures["dimensions"] == engine_dimensions()
    # Random weights: every pair scores alike, so at 0.6 everyone alerts and nothing is told apart.
    at_06 = figures["thresholds"][0]
    assert at_06["fmr"]["k"] == at_06["fmr"]["n"] > 0 and not figures["separates"]
    assert "sex" in at_06["groups"]
    event = Event.objects.get(action="engine.evaluated")
    assert event.data["set_sha256"] == report.set_sha256 and event.data["weights_sha256"] == engine.weights_sha256
    printed = out.getvalue()
    assert "SEPARATES NOTHING" in printed and "left out: double_a/broken.jpg" in printed and "0.600" in printed


def engine_dimensions() -> int:
    import numpy as np

    _, vectors = get_engine().detect_and_embed(Image.open(PORTRAIT).convert("RGB"))
    return np.asarray(vectors).shape[1]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--as", "outsider"], "may not evaluate the face engine"),
        (["--as", "nobody"], "No user"),
        (["--as", "privacy", "--thresholds", "1.5"], "three decimals"),
        (["--as", "privacy", "--labels", "/nonexistent/labels.csv"], "No such file"),
    ],
)
def test_a_refused_run_stores_and_logs_nothing(actors, face_set, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("evaluate_engine", str(face_set), *arguments, stdout=io.StringIO())
    assert not EngineEvaluation.objects.exists() and not Event.objects.filter(action="engine.evaluated").exists()


def test_bad_labels_and_an_empty_folder_are_refused(actors, face_set, tmp_path_factory):
    labels = tmp_path_factory.mktemp("labels") / "labels.csv"
    labels.write_text("name,gender\ncollins,female\n")
    with pytest.raises(CommandError, match="header"):
        call_command("evaluate_engine", str(face_set), "--as", "privacy", "--labels", str(labels))
    with pytest.raises(CommandError, match="no images"):
        call_command("evaluate_engine", str(tmp_path_factory.mktemp("empty")), "--as", "privacy")
    assert not EngineEvaluation.objects.exists()


def test_any_engine_behind_the_interface_is_evaluated_whatever_its_vector_size(actors, face_set):
    """An engine of 128-d vectors whose faces do not say their size (as another engine's may not): its first face."""
    import numpy as np

    from apps.matching.services import engine_evaluation

    class Engine128:
        name, weights_sha256 = "Other/128", "e" * 64

        def detect_and_embed(self, image):
            seed = int(np.asarray(image.convert("L").resize((8, 8))).sum())
            vector = np.random.default_rng(seed).standard_normal(128)
            return [object(), object()], np.array([vector / np.linalg.norm(vector)] * 2, dtype=np.float32)

    images = engine_evaluation.read_folder(face_set)
    report = engine_evaluation.evaluate(actors.privacy, "faces", images, engine=Engine128())
    assert report.engine_name == "Other/128" and report.engine_weights_sha256 == "e" * 64
    assert report.figures["dimensions"] == 128 and report.figures["images"] == 6
