"""The face engine: facenet-pytorch MTCNN (detection and alignment) and InceptionResnetV1 (512-d unit vectors).

Loaded once per process. Its identity (model name and the SHA-256 of its weights) travels with every template,
alert and receipt. Without real weights (FACE_WEIGHTS, or facenet-pytorch's own download where allowed), the real
code runs with random weights from a fixed seed: the engine then says it is uncalibrated, and it recognises nobody.
"""

import hashlib
import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

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

        planes = (self.crop.numpy() * 128.0 + 127.5).clip(0, 255).astype(np.uint8)
        out = io.BytesIO()
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


class FaceEngine:
    """Detect faces in an image and turn aligned faces into unit vectors."""

    def __init__(self):
        import torch
        from facenet_pytorch import MTCNN, InceptionResnetV1

        torch.set_num_threads(settings.FACE_THREADS)
        self._torch = torch
        self.gate = _Gate(settings.FACE_BATCH_SIZE, settings.FACE_BATCH_FRAMES)
        self.detector = MTCNN(
            image_size=160,
            margin=0,
            min_face_size=settings.FACE_MIN_SIZE,
            keep_all=True,
            post_process=True,
            device="cpu",
        )
        # The three detection networks in channels-last layout: the same arithmetic (the crops come out identical),
        # but torch's CPU max-pooling is 10-15x faster in that layout, and it was a third of a detection.
        for network in (self.detector.pnet, self.detector.rnet, self.detector.onet):
            network.to(memory_format=torch.channels_last)
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
        _for_inference(self.model)
        logger.info(
            "Face engine %s (%s), weights %s",
            self.name,
            "calibrated" if self.calibrated else "UNCALIBRATED",
            self.weights_sha256[:16],
        )

    def detect(self, image: Image.Image) -> list[Face]:
        """Every face MTCNN finds, aligned to 160x160, with its box and probability."""
        with self.gate.detection():
            return self._detect(image)

    def detect_and_embed(self, image: Image.Image) -> tuple[list[Face], np.ndarray]:
        """A frame's faces and their vectors. The faces join the batch of whatever other frames this process is
        embedding at the time (a camera's frames arrive on several request threads)."""
        with self.gate.detection() as job:
            job.faces = self._detect(image)
        if not job.faces:
            return [], np.zeros((0, 512), dtype=np.float32)
        return job.faces, self.gate.wait(job, self._forward)

    def _detect(self, image: Image.Image) -> list[Face]:
        image = image.convert("RGB")
        # MTCNN takes a tensor as height x width x channels; given one whose memory holds each channel whole, its
        # image pyramid (area resampling of the whole frame at each scale) runs on planes instead of interleaved
        # pixels: the same boxes, about 11 % sooner (41 ms against 46.5 on a 640x480 frame; docs/benchmarks.md,
        # Matching: the models rearranged for the CPU).
        planes = self._torch.from_numpy(np.ascontiguousarray(np.asarray(image).transpose(2, 0, 1)))
        with self._torch.no_grad():
            boxes, probabilities = self.detector.detect(planes.permute(1, 2, 0))
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
        """Unit 512-d float32 vectors, one row per face. Faces that other threads of this process are embedding at
        the same moment go through the model in the same batch (at most FACE_BATCH_SIZE faces a forward pass)."""
        if not faces:
            return np.zeros((0, 512), dtype=np.float32)
        return self.gate.embed(faces, self._forward)

    def _forward(self, faces: list[Face]) -> np.ndarray:
        rows = []
        with self._torch.no_grad():
            for start in range(0, len(faces), settings.FACE_BATCH_SIZE):
                batch = self._torch.stack([face.crop for face in faces[start : start + settings.FACE_BATCH_SIZE]])
                batch = batch.contiguous(memory_format=self._torch.channels_last)
                rows.append(self.model(batch).numpy().astype(np.float32))
        vectors = np.concatenate(rows)
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


def _weights_hash(model) -> str:
    """SHA-256 over the weights in key order: the same weights always give the same hash."""
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
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
                _engine = FaceEngine()
    return _engine


def loaded_engine() -> FaceEngine | None:
    """The process's engine if it has been loaded, without loading it."""
    return _engine
