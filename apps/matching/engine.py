"""The face engines: each detects faces in an image and turns aligned faces into unit vectors of its own size.

- `FacenetEngine`: facenet-pytorch's MTCNN (detection and alignment) and InceptionResnetV1, 512-d. Without real
  weights (FACE_WEIGHTS, or facenet-pytorch's own download where allowed), the real code runs with random weights from
  a fixed seed: the engine then says it is uncalibrated, and it recognises nobody.
- `DlibEngine`: MTCNN's boxes (its real weights ship in facenet-pytorch's wheel), dlib's 5-point landmarks to align
  each face (`dlib.get_face_chip`, 150x150), and dlib's ResNet face descriptor (128-d, 99.38 % on LFW), its weights
  from the face_recognition_models package. A real model that installs offline.

FACE_ENGINE chooses (settings): facenet where VGGFace2 weights are given, dlib otherwise. One engine is loaded per
process. Its identity (name, and a SHA-256 over the weights of every network it runs: detector, landmarks and
embedding) travels with every template, alert and receipt, and its templates are compared only with its own probes.
"""

import copy
import hashlib
import importlib.util
import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from PIL import Image

logger = logging.getLogger(__name__)
MODEL = "InceptionResnetV1"
DLIB_MODEL = "dlib-resnet-v1"


@dataclass(frozen=True)
class Face:
    """One detected, aligned face: its box in the frame, the detector's probability, and the 160x160 crop."""

    box: tuple[float, float, float, float]
    probability: float
    crop: object  # facenet: a 3x160x160 float tensor, standardised; dlib: a 150x150x3 uint8 aligned chip

    @property
    def size(self) -> float:
        """The shorter side of the face's box, in pixels."""
        left, top, right, bottom = self.box
        return min(right - left, bottom - top)

    def crop_jpeg(self) -> bytes:
        """The aligned crop as a JPEG (for an alert's probe; never for a non-matching face)."""
        import io

        out = io.BytesIO()
        if isinstance(self.crop, np.ndarray):  # dlib's chip is already RGB pixels
            Image.fromarray(self.crop).save(out, "JPEG", quality=90)
            return out.getvalue()
        planes = (self.crop.numpy() * 128.0 + 127.5).clip(0, 255).astype(np.uint8)
        # Merged from the crop's own planes rather than interleaved first: the same bytes, in 0.15 ms instead of
        # 0.24 (0.27 against 0.47 with 12 threads at work), and every alert pays it in the frame's request.
        Image.merge("RGB", [Image.fromarray(plane) for plane in planes]).save(out, "JPEG", quality=90)
        return out.getvalue()


class EngineFailed(RuntimeError):
    """A forward pass failed; every frame whose faces were in it gets this, and nothing of them is kept."""


@dataclass(eq=False)
class _Job:
    """One caller's faces, waiting to be embedded in a shared batch."""

    faces: list
    vectors: np.ndarray | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass(eq=False)
class _Gate:
    """One forward pass at a time in a process (with one torch thread a process, that is its core), and the faces of
    frames that arrive together embedded in one batch: an embedding waits while another frame is waiting to be
    detected, unless `start_frames` frames' faces are already queued (or `batch_size` faces): then the pass and the
    waiting detection may go first, whichever takes the lock. A pass takes at most `batch_size` faces. The first
    waiting caller runs the batch for all, so no thread of its own is needed (gunicorn and Celery fork after import).
    Each request thread has at most one frame in flight, so a frame waits for at most its process's other threads'
    detections, never indefinitely.

    `start_frames` keeps the engine busy when more frames are in flight than make a good batch: with 6 request threads
    and passes started at 4 frames, the next frames are detected while a batch's frames are being recorded and answered,
    instead of every thread's frame moving through the process in step (benchmarks/live_bench.py)."""

    batch_size: int
    start_frames: int = 0  # 0: only a full batch starts a pass while detections wait
    cond: threading.Condition = field(default_factory=threading.Condition)
    busy: bool = False
    detecting: int = 0
    queue: list = field(default_factory=list)
    # Logged at a worker's exit: forward passes of the embedding model, the faces they embedded, the seconds the
    # engine was in use (detections and embeddings) since its first use, and the CPU seconds the thread holding it
    # spent meanwhile (so a benchmark can tell the models' CPU in the server from the platform's).
    batches: int = 0
    embedded: int = 0
    busy_seconds: float = 0.0
    cpu_seconds: float = 0.0
    first_use: float | None = None
    _taken_at: float = 0.0
    _taken_cpu: float = 0.0

    def _acquire(self) -> None:
        self.busy, self._taken_at, self._taken_cpu = True, time.monotonic(), time.thread_time()
        if self.first_use is None:
            self.first_use = self._taken_at

    def _release(self) -> None:
        self.busy = False
        self.busy_seconds += time.monotonic() - self._taken_at
        self.cpu_seconds += time.thread_time() - self._taken_cpu
        self.cond.notify_all()

    @contextmanager
    def detection(self):
        """The engine for one detection; detections go before queued embeddings, so that those can batch up. The
        caller may put the faces it found in the yielded job: they are queued as the engine is released, so no batch
        can start between the detection and them. Then `wait(job, run)` gives their vectors."""
        with self.cond:
            self.detecting += 1
            try:
                self.cond.wait_for(lambda: not self.busy)
            finally:
                self.detecting -= 1
            self._acquire()
        job = _Job([])
        try:
            yield job
        finally:
            with self.cond:
                if job.faces:
                    self.queue.append(job)
                self._release()

    def _queued(self) -> int:
        return sum(len(job.faces) for job in self.queue)

    def _may_run(self) -> bool:
        if self.busy or not self.queue:
            return False
        enough = 0 < self.start_frames <= len(self.queue) or self._queued() >= self.batch_size
        return self.detecting == 0 or enough

    def _take(self) -> list[_Job]:
        """Jobs in arrival order up to a batch of faces (one caller's faces are never split; the first always goes)."""
        taken, size = [], 0
        while self.queue and (not taken or size + len(self.queue[0].faces) <= self.batch_size):
            job = self.queue.pop(0)
            taken.append(job)
            size += len(job.faces)
        return taken

    def embed(self, faces: list, run) -> np.ndarray:
        """Queue these faces and wait for their vectors (`run` turns a batch of faces into rows)."""
        job = _Job(list(faces))
        with self.cond:
            self.queue.append(job)
        return self.wait(job, run)

    def wait(self, job: _Job, run) -> np.ndarray:
        """A queued job's vectors: whichever waiting caller finds the engine free runs the next batch for all."""
        while True:
            with self.cond:
                self.cond.wait_for(lambda: job.done or self._may_run())
                if job.done:
                    break
                batch = self._take()
                self._acquire()
                self.batches += 1
                self.embedded += sum(len(taken.faces) for taken in batch)
            vectors, error = None, None
            try:
                vectors = run([face for taken in batch for face in taken.faces])
            except Exception as exc:  # handed to every caller in the batch, each raising it as EngineFailed
                error = exc
            finally:  # even when this thread is stopped mid-pass, the others are released with an error
                failure = None if vectors is not None else error or EngineFailed("the forward pass was interrupted")
                with self.cond:
                    start = 0
                    for taken in batch:
                        if failure is None:
                            taken.vectors = vectors[start : start + len(taken.faces)]
                            start += len(taken.faces)
                        taken.error, taken.done = failure, True
                    self._release()
        if job.error is not None:
            raise EngineFailed(f"The face engine failed on a batch of faces: {job.error}") from job.error
        return job.vectors


class FaceEngine(ABC):
    """Detect faces in an image and turn aligned faces into unit vectors of `dimensions` (the engines' interface).

    Every call but `detect_scaled` goes through the process's gate (_Gate): one model at work at a time, and the faces
    of frames that arrive together embedded in one batch. An engine supplies `_faces` (the faces in MTCNN's boxes of an
    RGB image, aligned), `_forward` (a batch of faces to unit vectors) and `face_from_crop`."""

    name: str
    weights_sha256: str
    calibrated: bool
    dimensions: int

    def __init__(self):
        self.gate = _Gate(settings.FACE_BATCH_SIZE, settings.FACE_BATCH_FRAMES)

    def detect(self, image: Image.Image) -> list[Face]:
        """Every face the detector finds, aligned, with its box and probability."""
        with self.gate.detection():
            return self._detect(image)

    def detect_and_embed(self, image: Image.Image) -> tuple[list[Face], np.ndarray]:
        """A frame's faces and their vectors. The faces join the batch of whatever other frames this process is
        embedding at the time (a camera's frames arrive on several request threads)."""
        with self.gate.detection() as job:
            job.faces = self._detect(image)
        if not job.faces:
            return [], np.zeros((0, self.dimensions), dtype=np.float32)
        return job.faces, self.gate.wait(job, self._forward)

    def embed(self, faces: list[Face]) -> np.ndarray:
        """Unit float32 vectors, one row per face. Faces that other threads of this process are embedding at the same
        moment go through the model in the same batch (at most FACE_BATCH_SIZE faces a forward pass)."""
        if not faces:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return self.gate.embed(faces, self._forward)

    def detect_scaled(self, image: Image.Image, width: int, min_face_size: int) -> list[Face]:
        """The faces of at least `min_face_size` pixels (the image's own) found by MTCNN on a copy `width` pixels wide,
        their boxes scaled back and their crops cut from the full-resolution image. Outside the process's gate: for a
        program that runs its own detection threads (the capture agent, one frame a thread); the server's paths go
        through `detect` and `detect_and_embed`, which this leaves as they were."""
        image = image.convert("RGB")
        scale = min(1.0, width / image.width)
        small = image if scale == 1.0 else image.resize((width, round(image.height * scale)), Image.Resampling.BILINEAR)
        detector = self._detector_for(max(1, round(min_face_size * scale)))
        boxes, probabilities = _mtcnn_boxes(self._torch, detector, small)
        if boxes is None:
            return []
        return self._faces(image, boxes / scale, probabilities)

    def _detector_for(self, min_face_size: int):
        """MTCNN with another minimum face size: a shallow copy sharing the three networks (the server's detector and
        its setting are untouched)."""
        if min_face_size == self.detector.min_face_size:
            return self.detector
        detectors = self.__dict__.setdefault("_detectors", {})
        if min_face_size not in detectors:
            detector = copy.copy(self.detector)
            detector.min_face_size = min_face_size
            detectors[min_face_size] = detector
        return detectors[min_face_size]

    def _detect(self, image: Image.Image) -> list[Face]:
        """An RGB image's faces, aligned, with their boxes and probabilities."""
        image = image.convert("RGB")
        boxes, probabilities = _mtcnn_boxes(self._torch, self.detector, image)
        return [] if boxes is None else self._faces(image, boxes, probabilities)

    @abstractmethod
    def face_from_crop(self, image: Image.Image) -> Face:
        """A face a van detected and cropped itself, made ready for `embed`."""

    @abstractmethod
    def _faces(self, image: Image.Image, boxes: np.ndarray, probabilities: np.ndarray) -> list[Face]:
        """The faces in these boxes of an RGB image, aligned, with their boxes and probabilities."""

    @abstractmethod
    def _forward(self, faces: list[Face]) -> np.ndarray:
        """A batch of faces to unit vectors, one row a face."""

    def _log(self) -> None:
        logger.info(
            "Face engine %s (%s, %d-d), weights %s",
            self.name,
            "calibrated" if self.calibrated else "UNCALIBRATED",
            self.dimensions,
            self.weights_sha256[:16],
        )


def _mtcnn(torch):
    """facenet-pytorch's MTCNN with its real weights (in its wheel), its networks laid out for the CPU."""
    from facenet_pytorch import MTCNN

    detector = MTCNN(
        image_size=160,
        margin=0,
        min_face_size=settings.FACE_MIN_SIZE,
        keep_all=True,
        post_process=True,
        device="cpu",
    )
    # The three detection networks in channels-last layout: the same arithmetic (the crops come out identical),
    # but torch's CPU max-pooling is 10-15x faster in that layout, and it was a third of a detection.
    for network in (detector.pnet, detector.rnet, detector.onet):
        network.to(memory_format=torch.channels_last)
    return detector


def _mtcnn_boxes(torch, detector, image: Image.Image):
    """MTCNN's boxes and probabilities for an RGB image (None, None when it finds no face)."""
    # MTCNN takes a tensor as height x width x channels; given one whose memory holds each channel whole, its
    # image pyramid (area resampling of the whole frame at each scale) runs on planes instead of interleaved
    # pixels: the same boxes, about 11 % sooner (41 ms against 46.5 on a 640x480 frame; docs/benchmarks.md,
    # Matching: the models rearranged for the CPU).
    planes = torch.from_numpy(np.ascontiguousarray(np.asarray(image).transpose(2, 0, 1)))
    with torch.no_grad():
        return detector.detect(planes.permute(1, 2, 0))


class FacenetEngine(FaceEngine):
    """facenet-pytorch: MTCNN's 160x160 crops and InceptionResnetV1's 512-d vectors."""

    dimensions = 512

    def __init__(self):
        import torch
        from facenet_pytorch import InceptionResnetV1

        super().__init__()
        torch.set_num_threads(settings.FACE_THREADS)
        self._torch = torch
        self.detector = _mtcnn(torch)
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
        self.weights_sha256 = _weights_hash(self.model, self.detector)
        _for_inference(self.model)
        self._log()

    def _faces(self, image: Image.Image, boxes: np.ndarray, probabilities: np.ndarray) -> list[Face]:
        with self._torch.no_grad():
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

    def _forward(self, faces: list[Face]) -> np.ndarray:
        rows = []
        with self._torch.no_grad():
            for start in range(0, len(faces), settings.FACE_BATCH_SIZE):
                batch = self._torch.stack([face.crop for face in faces[start : start + settings.FACE_BATCH_SIZE]])
                batch = batch.contiguous(memory_format=self._torch.channels_last)
                rows.append(self.model(batch).numpy().astype(np.float32))
        vectors = np.concatenate(rows)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# dlib's models, from the face_recognition_models package (found without importing it: its __init__ needs
# pkg_resources, which setuptools no longer installs by default).
DLIB_FILES = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
CHIP_SIZE, CHIP_PADDING = 150, 0.25  # the chip the descriptor was trained on (dlib's face_recognition example)


def dlib_model_dir() -> str:
    """The folder holding dlib's model files."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImproperlyConfigured("FACE_ENGINE=dlib needs the face_recognition_models package (make setup).")
    return os.path.join(spec.submodule_search_locations[0], "models")


class DlibEngine(FaceEngine):
    """MTCNN's boxes, dlib's 5-point alignment and dlib's 128-d ResNet descriptor, unit-normalised.

    MTCNN rather than dlib's HOG detector: HOG finds faces under about 80 px only with one upsampling, and then took 3.2
    times MTCNN's time on a 640x480 frame (342 against 106 ms; 70 ms without it, missing the faces from FACE_MIN_SIZE
    40 px to 80); and MTCNN's probability is what the enrolment quality gate reads (docs/benchmarks.md, Matching,
    Run 14: benchmarks/engine_bench.py)."""

    dimensions = 128
    calibrated = True

    def __init__(self):
        import dlib
        import torch

        super().__init__()
        torch.set_num_threads(settings.FACE_THREADS)
        self._torch, self._dlib = torch, dlib
        self.detector = _mtcnn(torch)
        folder = dlib_model_dir()
        landmarks, descriptor = (os.path.join(folder, name) for name in DLIB_FILES)
        self.landmarks = dlib.shape_predictor(landmarks)
        self.model = dlib.face_recognition_model_v1(descriptor)
        self.name = f"{DLIB_MODEL}/mtcnn"
        digest = hashlib.sha256(_weights_hash(None, self.detector).encode())
        for path in (landmarks, descriptor):
            with open(path, "rb") as weights:
                digest.update(hashlib.file_digest(weights, "sha256").digest())
        self.weights_sha256 = digest.hexdigest()
        self._log()

    def _chip(self, pixels: np.ndarray, box) -> np.ndarray:
        """The face in the box aligned by its 5 landmarks: 150x150 RGB, as the descriptor was trained on."""
        left, top, right, bottom = (round(float(v)) for v in box)
        shape = self.landmarks(pixels, self._dlib.rectangle(left, top, right, bottom))
        return self._dlib.get_face_chip(pixels, shape, size=CHIP_SIZE, padding=CHIP_PADDING)

    def _faces(self, image: Image.Image, boxes: np.ndarray, probabilities: np.ndarray) -> list[Face]:
        pixels = np.asarray(image)
        return [
            Face(tuple(float(v) for v in box), float(probability), self._chip(pixels, box))
            for box, probability in zip(boxes, probabilities, strict=True)
        ]

    def face_from_crop(self, image: Image.Image) -> Face:
        """A face a van detected and cropped itself: aligned by the landmarks found within the whole crop."""
        pixels = np.ascontiguousarray(np.asarray(image.convert("RGB")))
        box = (0.0, 0.0, float(image.width), float(image.height))
        return Face(box, 1.0, self._chip(pixels, box))

    def _forward(self, faces: list[Face]) -> np.ndarray:
        vectors = np.asarray(self.model.compute_face_descriptor([face.crop for face in faces]), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _for_inference(model) -> None:
    """The embedding network rearranged for the CPU, its vectors within 1e-7 of the model's as loaded (its hash is
    taken before): each batch normalisation folded into the convolution before it (7 % less time), and the layout
    made channels-last, in which oneDNN's convolutions took 45 ms a face in batches of 4 against 63 (docs/
    benchmarks.md, Matching: the models rearranged for the CPU)."""
    import torch
    from facenet_pytorch.models.inception_resnet_v1 import BasicConv2d
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for module in model.modules():
        if isinstance(module, BasicConv2d):
            module.conv, module.bn = fuse_conv_bn_eval(module.conv, module.bn), torch.nn.Identity()
    model.to(memory_format=torch.channels_last)


def _weights_hash(model, detector) -> str:
    """SHA-256 over the detector's and the model's weights in key order: the same weights always give the same hash."""
    digest = hashlib.sha256()
    for prefix, network in (("detector.", detector), ("", model)):
        if network is None:
            continue
        for key, tensor in sorted(network.state_dict().items()):
            digest.update((prefix + key).encode())
            digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()


_engine: FaceEngine | None = None
_engine_lock = threading.Lock()


def get_engine() -> FaceEngine:
    """The process's engine, loaded once on first use (request threads arriving together wait for the one load)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = DlibEngine() if settings.FACE_ENGINE == "dlib" else FacenetEngine()
    return _engine


def loaded_engine() -> FaceEngine | None:
    """The process's engine if it has been loaded, without loading it."""
    return _engine
