"""The dlib engine is a real model: it tells Barack Obama from Joe Biden and Eileen Collins in public-domain photos.

Scores seen (cosine of unit 128-d vectors, Obama enrolled from obama.jpg): obama2 0.966, obama3 0.971; Biden 0.808,
Collins 0.819. Different people score about 0.8 (dlib's own "same person" bound, Euclidean 0.6 on these vectors, is
a cosine of 0.82), so a dlib deployment's threshold sits near 0.9, not facenet's 0.6 (README, The face engines).
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

FACES = Path(__file__).resolve().parents[2] / "apps" / "matching" / "demo_faces"


@pytest.fixture(scope="module")
def engine():
    from apps.matching.engine import DlibEngine

    return DlibEngine()


def _vector(engine, name: str) -> np.ndarray:
    if name == "collins":
        from skimage import data

        image = Image.fromarray(data.astronaut())
    else:
        image = Image.open(FACES / f"{name}.jpg")
    faces = engine.detect(image)
    assert len(faces) == 1, name
    return engine.embed(faces)[0]


def test_the_dlib_engine_scores_obama_above_biden_and_collins(engine):
    obama = _vector(engine, "obama")
    assert obama.shape == (128,) and np.isclose(np.linalg.norm(obama), 1.0, atol=1e-5)
    same = [float(obama @ _vector(engine, name)) for name in ("obama2", "obama3")]
    others = [float(obama @ _vector(engine, name)) for name in ("biden", "collins")]
    assert min(same) > max(others)
    assert min(same) > 0.9 > max(others)  # the threshold the demo and the tests use for this engine


def test_the_dlib_engines_identity_covers_every_network_it_runs(engine):
    import torch

    from apps.matching.engine import DlibEngine, _weights_hash

    assert engine.name == "dlib-resnet-v1/mtcnn" and engine.dimensions == 128 and engine.calibrated
    other = DlibEngine()
    assert other.weights_sha256 == engine.weights_sha256  # the same files, the same identity
    # The detector's weights are in the hash: other MTCNN weights, another identity.
    with torch.no_grad():
        next(other.detector.pnet.parameters()).add_(1.0)
    assert _weights_hash(None, other.detector) != _weights_hash(None, engine.detector)


def test_a_vans_crop_is_aligned_and_embedded_as_a_detected_face_is(engine):
    photo = Image.open(FACES / "obama2.jpg")
    face = engine.detect(photo)[0]
    left, top, right, bottom = face.box
    crop = photo.crop((int(left), int(top), int(right), int(bottom)))
    from_crop, detected = engine.embed([engine.face_from_crop(crop), face])
    assert float(from_crop @ detected) > 0.95
    assert face.crop_jpeg()[:2] == b"\xff\xd8"
