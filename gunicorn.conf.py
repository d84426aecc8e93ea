"""gunicorn's settings for Govern; gunicorn reads this file from the directory it starts in.

One process per core, each serving several requests on threads: a camera's frames that arrive together on one
process's threads share the face engine's forward passes (apps/matching/engine.py batches their faces), and each
process runs torch on one thread (FACE_THREADS), so the processes do not fight over the cores. Six threads against
passes started at four frames (FACE_BATCH_FRAMES) keep a frame waiting for detection while a batch's frames are
recorded and answered (docs/benchmarks.md, Matching: one-face frames, even workers and pipelined passes: 3.6 faces
a pass against 2.8).

gunicorn is never exposed to clients: `python -m govern.serve` (what `make run` runs) puts nginx in front of it, on a
private Unix socket, and nginx hands a request over only when it has read the whole of it.
"""

import os
import time

from govern import env

workers = env.integer("WEB_WORKERS", os.cpu_count() or 2, minimum=1, maximum=64)
threads = env.integer("WEB_THREADS", 6, minimum=1, maximum=64)
worker_class = "gthread"
# A worker takes no more connections than it has threads: otherwise one process could hold frames waiting for a
# thread while another sits idle (connections are handed out by whichever process wakes first). So a connection
# closes after its response (gthread keeps none alive with no spare connection); keep-alive to the clients is
# nginx's, in front. gunicorn 23 stopped polling a worker's connections once they reached the cap and spun for ever
# when all of them were idle (gunicorn issue 3146: six idle clients did it; behind nginx, one thread a worker did it
# at the first connection). In gunicorn 27 a worker at its cap only stops accepting and keeps serving; and nginx
# connects only with a whole request in hand, so a connection here is never idle.
worker_connections = threads
keepalive = 0
# nginx takes request lines up to 8 KiB and refuses longer ones with a plain 414; gunicorn must not refuse shorter
# ones with its own bare page first (its default is 4,094).
limit_request_line = 8190


def worker_exit(server, worker):
    """Say how well the worker's face engine batched the faces of frames arriving together, and how busy it was."""
    from apps.matching.engine import loaded_engine

    engine = loaded_engine()
    if engine is None:
        return
    gate = engine.gate
    server.log.warning(
        "worker %s: %d faces embedded in %d forward passes (%.2f a pass); engine in use %.1f s of the %.1f s since "
        "its first use, %.1f s of CPU",
        worker.pid,
        gate.embedded,
        gate.batches,
        gate.embedded / gate.batches if gate.batches else 0.0,
        gate.busy_seconds,
        time.monotonic() - gate.first_use if gate.first_use is not None else 0.0,
        gate.cpu_seconds,
    )
