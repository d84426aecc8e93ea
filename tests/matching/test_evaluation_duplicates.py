"""A face set holding the same photograph twice: a copy within one identity is left out (it would be a mated probe
scoring 1.0 against itself and inflate the comparisons counted), the same bytes under two identities refuses the run
(the labels contradict themselves). Found by SHA-256, before any image is embedded."""

import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from apps.audit.models import Event
from apps.matching.models import EngineEvaluation
from apps.matching.services import engine_evaluation
from apps.matching.services.engine_evaluation import LabelledImage

pytestmark = [pytest.mark.django_db]


def _jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (shade, 255 - shade, shade // 2)).save(out, "JPEG", quality=90)
    return out.getvalue()


class CountingEngine:
    """A stand-in engine (a vector from the image's pixels) that counts the images it is given."""

    name, weights_sha256 = "Counting/16", "c" * 64

    def __init__(self):
        self.seen = 0

    def detect_and_embed(self, image):
        self.seen += 1
        seed = int(np.asarray(image.convert("L").resize((4, 4))).sum())
        vector = np.random.default_rng(seed).standard_normal(16)
        return [object()], np.array([vector / np.linalg.norm(vector)], dtype=np.float32)


def _set(**people) -> list[LabelledImage]:
    return [
        LabelledImage(person, f"{person}/{number}.jpg", content)
        for person, contents in people.items()
        for number, content in enumerate(contents, start=1)
    ]


def test_a_copy_within_one_identity_is_left_out_and_reported(actors):
    images = _set(ann=[_jpeg(10), _jpeg(10), _jpeg(20)], bob=[_jpeg(30), _jpeg(40)], cy=[_jpeg(50)])
    engine = CountingEngine()
    report = engine_evaluation.evaluate(actors.privacy, "faces", images, engine=engine)
    assert engine.seen == 5 and report.figures["images"] == 5
    assert {"image": "ann/2.jpg", "problem": "duplicate of ann/1.jpg (same SHA-256): left out"} in report.problems
    assert Event.objects.get(action="engine.evaluated").data["duplicates_left_out"] == 1
    # The set's hash is still over every file given: the same folder, the same hash.
    assert report.set_sha256 == engine_evaluation.set_sha256(images)


def test_the_same_photograph_under_two_identities_refuses_the_run_and_stores_nothing(actors):
    images = _set(ann=[_jpeg(10), _jpeg(20)], bob=[_jpeg(10), _jpeg(40)])
    engine = CountingEngine()
    with pytest.raises(Exception, match=r"two identities.*bob/1\.jpg is ann/1\.jpg"):
        engine_evaluation.evaluate(actors.privacy, "faces", images, engine=engine)
    assert engine.seen == 0 and not EngineEvaluation.objects.exists()
    assert not Event.objects.filter(action="engine.evaluated").exists()


def test_the_command_refuses_a_cross_identity_duplicate_with_its_names(actors, tmp_path):
    for person, content in (("ann", _jpeg(10)), ("ann", _jpeg(20)), ("bob", _jpeg(10))):
        (tmp_path / person).mkdir(exist_ok=True)
        (tmp_path / person / f"{len(list((tmp_path / person).iterdir()))}.jpg").write_bytes(content)
    with pytest.raises(CommandError, match=r"bob/0\.jpg is ann/0\.jpg"):
        call_command("evaluate_engine", str(tmp_path), "--as", "privacy", stdout=io.StringIO())
    assert not EngineEvaluation.objects.exists()
