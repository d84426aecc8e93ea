"""The face engine: facenet-pytorch MTCNN (detection and alignment) and InceptionResnetV1 (512-d unit vectors).

Loaded once per process. Its identity (model name and the SHA-256 of its weights) travels with every template,
alert and receipt. Without real weights (FACE_WEIGHTS, or facenet-pytorch's own download where allowed), the real
code runs with random weights from a fixed seed: the engine then says it is uncalibrated, and it recognises nobody.
"""

import hashlib
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from PIL import Image

logger = logging.getLogger(__name__)
MODEL = "InceptionResnetV1"


@dataclass(frozen=True)
class Face:
    """One detected, aligned face: its box in the frame, the detector's probability, and the 160x160 crop."""

    box: tuple[float, float, float, float]
    probability: float
    crop: object  # a 3x160x160 float tensor, standardised as facenet-pytorch expects

    @property
    def size(self) -> float:
        """The shorter side of the face's box, in pixels."""
        left, top, right, bottom = self.box
        return min(right - left, bottom - top)

    def crop_jpeg(self) -> bytes:
        """The aligned crop as a JPEG (for an alert's probe; never for a non-matching face)."""
        import io

        pixels = ((self.crop.permute(1, 2, 0).numpy() * 128.0) + 127.5).clip(0, 255).astype(np.uint8)
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, "JPEG", quality=90)
        return out.getvalue()


class FaceEngine:
    """Detect faces in an image and turn aligned faces into unit vectors."""

    def __init__(self):
        import torch
        from facenet_pytorch import MTCNN, InceptionResnetV1

        torch.set_num_threads(settings.FACE_THREADS)
        self._torch = torch
        self._lock = threading.Lock()  # one forward pass at a time per process: torch already uses the cores
        self.detector = MTCNN(
            image_size=160,
            margin=0,
            min_face_size=settings.FACE_MIN_SIZE,
            keep_all=True,
            post_process=True,
            device="cpu",
        )
        if settings.FACE_WEIGHTS is not None:
            self.model = InceptionResnetV1(pretrained=None).eval()
            try:
                state = torch.load(settings.FACE_WEIGHTS, map_location="cpu", weights_only=True)
            except (OSError, RuntimeError) as exc:
                raise ImproperlyConfigured(f"FACE_WEIGHTS {settings.FACE_WEIGHTS} cannot be loaded: {exc}") from exc
            self.model.load_state_dict(state)
            self.calibrated, self.name = True, f"{MODEL}/vggface2"
        elif settings.FACE_ALLOW_DOWNLOAD:
            self.model = InceptionResnetV1(pretrained="vggface2").eval()
            self.calibrated, self.name = True, f"{MODEL}/vggface2"
        else:
            torch.manual_seed(settings.FACE_SEED)
            self.model = InceptionResnetV1(pretrained=None).eval()
            self.calibrated, self.name = False, f"{MODEL}/uncalibrated-seed{settings.FACE_SEED}"
        self.weights_sha256 = _weights_hash(self.model)
        logger.info(
            "Face engine %s (%s), weights %s",
            self.name,
            "calibrated" if self.calibrated else "UNCALIBRATED",
            self.weights_sha256[:16],
        )

    def detect(self, image: Image.Image) -> list[Face]:
        """Every face MTCNN finds, aligned to 160x160, with its box and probability."""
        image = image.convert("RGB")
        with self._lock, self._torch.no_grad():
            boxes, probabilities = self.detector.detect(image)
            if boxes is None:
                return []
            crops = self.detector.extract(image, boxes, None)
        return [
            Face(tuple(float(v) for v in box), float(probability), crop)
            for box, probability, crop in zip(boxes, probabilities, crops, strict=True)
        ]

    def face_from_crop(self, image: Image.Image) -> Face:
        """A face a van detected and cropped itself: resized to 160x160 and standardised as MTCNN's crops are."""
        pixels = np.asarray(image.convert("RGB").resize((160, 160), Image.Resampling.BILINEAR), dtype=np.float32)
        tensor = self._torch.from_numpy((pixels - 127.5) / 128.0).permute(2, 0, 1).contiguous()
        return Face((0.0, 0.0, float(image.width), float(image.height)), 1.0, tensor)

    def embed(self, faces: list[Face]) -> np.ndarray:
        """Unit 512-d float32 vectors, one row per face, in batches of FACE_BATCH_SIZE."""
        if not faces:
            return np.zeros((0, 512), dtype=np.float32)
        rows = []
        with self._lock, self._torch.no_grad():
            for start in range(0, len(faces), settings.FACE_BATCH_SIZE):
                batch = self._torch.stack([face.crop for face in faces[start : start + settings.FACE_BATCH_SIZE]])
                rows.append(self.model(batch).numpy().astype(np.float32))
        vectors = np.concatenate(rows)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _weights_hash(model) -> str:
    """SHA-256 over the weights in key order: the same weights always give the same hash."""
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def get_engine() -> FaceEngine:
    """The process's engine, loaded on first use."""
    return FaceEngine()
