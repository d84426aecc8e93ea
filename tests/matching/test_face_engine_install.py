"""facenet-pytorch is installed beside torch 2.14 and its real code runs: MTCNN finds the face in a real photo."""

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_facenet_pytorch_imports_and_mtcnn_finds_the_astronauts_face():
    import torch
    from facenet_pytorch import MTCNN, InceptionResnetV1
    from PIL import Image
    from skimage import data

    assert torch.__version__.startswith("2.14")
    photo = Image.fromarray(data.astronaut())  # Eileen Collins, NASA public-domain portrait shipped with scikit-image
    detector = MTCNN(image_size=160, margin=0, keep_all=True, device="cpu")
    boxes, probabilities = detector.detect(photo)
    assert boxes is not None and len(boxes) == 1
    assert probabilities[0] > 0.95
    left, top, right, bottom = boxes[0]
    assert 150 < (left + right) / 2 < 250 and 50 < (top + bottom) / 2 < 150  # the face, not the flag or the suit

    torch.manual_seed(0)
    model = InceptionResnetV1(pretrained=None).eval()  # real weights cannot be downloaded here: an uncalibrated model
    face = detector(photo)
    with torch.no_grad():
        embedding = model(face)
    assert embedding.shape == (1, 512)
    assert np.isclose(float(embedding.norm(dim=1)[0]), 1.0, atol=1e-4)
