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
