"""gunicorn's settings for Govern; gunicorn reads this file from the directory it starts in.

One process per core, each serving several requests on threads: a camera's frames that arrive together on one
process's threads share the face engine's forward passes (apps/matching/engine.py batches their faces), and each
process runs torch on one thread (FACE_THREADS), so the processes do not fight over the cores.
"""

import os

from govern import env

workers = env.integer("WEB_WORKERS", os.cpu_count() or 2, minimum=1, maximum=64)
threads = env.integer("WEB_THREADS", 4, minimum=1, maximum=64)
worker_class = "gthread"


def worker_exit(server, worker):
    """Say how well the worker's face engine batched the faces of frames arriving together."""
    from apps.matching import engine

    if engine._engine is not None:
        gate = engine._engine.gate
        mean = gate.embedded / gate.batches if gate.batches else 0.0
        server.log.warning(
            "worker %s: %d faces embedded in %d forward passes (%.2f a pass)",
            worker.pid,
            gate.embedded,
            gate.batches,
            mean,
        )
