"""Faces of frames that arrive together go through the embedding model in one batch (issue 5, live pipeline).

A gunicorn worker serves several request threads; its engine runs one forward pass at a time. These tests hold the
engine busy with a detection, let frames queue behind it, and check what the gate does when it is released: the
queued faces go in one batch, each caller gets its own rows, a waiting detection goes first, and a failed batch
fails every frame in it and frees the engine.
"""

import threading
import time

import numpy as np
import pytest
from PIL import Image

from apps.matching.engine import EngineFailed, Face, _Gate, get_engine


def _until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the gate did not reach the expected state"
        time.sleep(0.005)


class _Callers:
    """Threads that each embed their own faces through one gate, keeping what each got back or raised."""

    def __init__(self, gate: _Gate, run) -> None:
        self.gate, self.run, self.results, self.threads = gate, run, {}, []

    def embed(self, name: str, faces: list) -> None:
        def call():
            try:
                self.results[name] = self.gate.embed(faces, self.run)
            except EngineFailed as exc:
                self.results[name] = exc

        thread = threading.Thread(target=call)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(10)
            assert not thread.is_alive()


def _rows(faces: list) -> np.ndarray:
    """A stand-in model: one row per face, holding the face's own number."""
    return np.array([[float(face)] for face in faces])


def test_faces_queued_behind_a_detection_are_embedded_in_one_batch_and_each_caller_gets_its_own():
    gate, passes = _Gate(batch_size=32), []
    callers = _Callers(gate, lambda faces: passes.append(list(faces)) or _rows(faces))
    with gate.detection():
        callers.embed("a", [1])
        callers.embed("b", [2, 3])
        callers.embed("c", [4])
        _until(lambda: len(gate.queue) == 3)
        assert passes == []  # nothing runs while the engine is detecting
    callers.join()
    assert len(passes) == 1 and sorted(passes[0]) == [1, 2, 3, 4]
    assert {name: rows[:, 0].tolist() for name, rows in callers.results.items()} == {
        "a": [1.0],
        "b": [2.0, 3.0],
        "c": [4.0],
    }


def test_a_frame_waiting_to_be_detected_goes_before_the_queued_embeddings_and_joins_their_batch():
    gate, order = _Gate(batch_size=32), []

    def run(faces):
        order.append(("embed", sorted(faces)))
        return _rows(faces)

    callers = _Callers(gate, run)

    def second_frame():
        with gate.detection() as job:
            order.append(("detect", None))
            job.faces = [9]
        callers.results["d"] = gate.wait(job, run)

    with gate.detection():
        callers.embed("e", [5])
        _until(lambda: len(gate.queue) == 1)
        detector = threading.Thread(target=second_frame)
        detector.start()
        _until(lambda: gate.detecting == 1)
    detector.join(10)
    callers.join()
    assert order == [("detect", None), ("embed", [5, 9])]
    assert callers.results["d"][:, 0].tolist() == [9.0] and callers.results["e"][:, 0].tolist() == [5.0]


def _first_pass_while_a_detection_waits(gate: _Gate, frames: dict[str, list]) -> tuple[_Callers, list]:
    """Queue each frame's faces behind a detection, keep another frame waiting to be detected all along, and return
    once the first pass has run (then let everything finish): the callers and the passes, faces sorted."""
    passes = []
    callers = _Callers(gate, lambda faces: passes.append(sorted(faces)) or _rows(faces))
    with gate.detection():
        for name, faces in frames.items():
            callers.embed(name, faces)
        _until(lambda: len(gate.queue) == len(frames))
        with gate.cond:
            gate.detecting += 1
    try:
        _until(lambda: len(passes) >= 1)
    finally:
        with gate.cond:
            gate.detecting -= 1
            gate.cond.notify_all()
    callers.join()
    return callers, passes


def test_a_full_batch_runs_without_waiting_for_the_detections():
    _, passes = _first_pass_while_a_detection_waits(_Gate(batch_size=2), {"a": [1], "b": [2], "c": [3]})
    assert passes[0] == [1, 2] and sorted(face for batch in passes for face in batch) == [1, 2, 3]


def test_a_pass_starts_at_enough_frames_while_detections_wait_and_takes_all_queued():
    """FACE_BATCH_FRAMES: enough frames' faces start a pass although another frame waits to be detected (so the
    engine is not idle while a batch's frames are recorded), and the pass takes every queued face up to
    FACE_BATCH_SIZE."""
    gate = _Gate(batch_size=32, start_frames=3)
    callers, passes = _first_pass_while_a_detection_waits(gate, {"a": [1], "b": [2, 3], "c": [4]})
    assert passes == [[1, 2, 3, 4]]
    assert {name: rows[:, 0].tolist() for name, rows in callers.results.items()} == {
        "a": [1.0],
        "b": [2.0, 3.0],
        "c": [4.0],
    }


def test_fewer_frames_than_start_frames_wait_for_the_pending_detection():
    gate, passes = _Gate(batch_size=32, start_frames=3), []
    callers = _Callers(gate, lambda faces: passes.append(sorted(faces)) or _rows(faces))
    with gate.detection():
        callers.embed("a", [1])
        callers.embed("b", [2, 3])
        _until(lambda: len(gate.queue) == 2)
        with gate.cond:
            gate.detecting += 1  # a frame waits to be detected
    time.sleep(0.2)
    assert passes == []  # two frames of three: the pass waits for the detection
    with gate.cond:
        gate.detecting -= 1
        gate.cond.notify_all()
    callers.join()
    assert passes == [[1, 2, 3]]


def test_a_failed_batch_fails_every_frame_in_it_and_frees_the_engine():
    gate, calls = _Gate(batch_size=32), []

    def run(faces):
        calls.append(list(faces))
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return _rows(faces)

    callers = _Callers(gate, run)
    with gate.detection():
        callers.embed("a", [1])
        callers.embed("b", [2])
        _until(lambda: len(gate.queue) == 2)
    callers.join()
    assert all(isinstance(result, EngineFailed) for result in callers.results.values())
    assert "out of memory" in str(callers.results["a"])
    assert not gate.busy and gate.queue == []
    assert gate.embed([7], run)[:, 0].tolist() == [7.0]  # the next frame is served


@pytest.mark.slow
def test_the_real_engine_gives_each_frame_its_own_vectors_in_a_shared_batch():
    from skimage import data

    engine = get_engine()
    photo = Image.fromarray(data.astronaut())
    face = engine.detect(photo)[0]
    noise = np.random.default_rng(0).integers(0, 256, (160, 160, 3), dtype=np.uint8)
    noise = engine.face_from_crop(Image.fromarray(noise))
    alone = engine.embed([face, noise])
    callers = _Callers(engine.gate, engine._forward)
    before, embedded = engine.gate.batches, engine.gate.embedded
    with engine.gate.detection():
        callers.embed("face", [face])
        callers.embed("noise", [noise])
        _until(lambda: len(engine.gate.queue) == 2)
    callers.join()
    assert (engine.gate.batches, engine.gate.embedded) == (before + 1, embedded + 2)
    assert np.allclose(callers.results["face"][0], alone[0], atol=1e-5)
    assert np.allclose(callers.results["noise"][0], alone[1], atol=1e-5)
    assert np.abs(alone[0] - alone[1]).max() > 1e-3  # two different crops, so a mix-up would show


@pytest.mark.slow
def test_the_detection_networks_in_channels_last_find_the_same_face_and_crop():
    """The layout is an optimisation (torch's max-pooling is 10-15x faster in it), so it must change nothing."""
    import copy

    import torch
    from skimage import data

    engine = get_engine()
    photo = Image.fromarray(data.astronaut())
    standard = copy.deepcopy(engine.detector)
    for network in (standard.pnet, standard.rnet, standard.onet):
        network.to(memory_format=torch.contiguous_format)
    with torch.no_grad():
        boxes, probabilities = standard.detect(photo)
        crops = standard.extract(photo, boxes, None)
    faces = engine.detect(photo)
    assert len(faces) == len(boxes) == 1
    assert np.allclose(faces[0].box, boxes[0].astype(float), atol=1e-3)
    assert abs(faces[0].probability - float(probabilities[0])) < 1e-5
    assert torch.equal(faces[0].crop, crops[0])


@pytest.mark.slow
def test_the_embedding_network_rearranged_for_the_cpu_gives_the_models_own_vectors(settings):
    """Folding the batch normalisations into the convolutions and the channels-last layout are optimisations, so
    the vectors are the model's own: the model as loaded (the same seed, the standard layout) gives the same rows,
    and its weights' hash is the engine's."""
    import torch
    from facenet_pytorch import InceptionResnetV1
    from skimage import data

    from apps.matching.engine import _weights_hash

    engine = get_engine()
    faces = engine.detect(Image.fromarray(data.astronaut()))
    with torch.random.fork_rng():  # the seed is this test's, not the tests' after it
        noise = Face(faces[0].box, 1.0, torch.rand(3, 160, 160) * 2 - 1)
        torch.manual_seed(settings.FACE_SEED)
        loaded = InceptionResnetV1(pretrained=None).eval()
    assert _weights_hash(loaded, engine.detector) == engine.weights_sha256
    assert not any(isinstance(module, torch.nn.BatchNorm2d) for module in engine.model.modules())
    assert next(p for p in engine.model.parameters() if p.dim() == 4).is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        rows = loaded(torch.stack([faces[0].crop, noise.crop])).numpy()
    expected = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    assert np.allclose(engine.embed([faces[0], noise]), expected, atol=1e-5)


@pytest.mark.slow
def test_an_alerts_probe_jpeg_is_the_aligned_crop_as_interleaved_pixels_would_encode_it():
    """The probe is encoded from the crop's planes (quicker in the frame's request); the file is the one that the
    crop's pixels, interleaved the usual way, encode to, and it decodes to the crop."""
    import io

    from skimage import data

    face = get_engine().detect(Image.fromarray(data.astronaut()))[0]
    pixels = ((face.crop.permute(1, 2, 0).numpy() * 128.0) + 127.5).clip(0, 255).astype(np.uint8)
    interleaved = io.BytesIO()
    Image.fromarray(pixels).save(interleaved, "JPEG", quality=90)
    probe = face.crop_jpeg()
    assert probe == interleaved.getvalue()
    decoded = np.asarray(Image.open(io.BytesIO(probe)).convert("RGB"), dtype=np.float32)
    assert decoded.shape == (160, 160, 3) and np.abs(decoded - pixels).mean() < 3.0
