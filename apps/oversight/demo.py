"""Demo: the threshold and the engine in force through a countersigned change, and retention policies set.

Runs before the matching demo (ORDER), so the engine the demo deployments use is approved the governed way: the
commander evaluates the engine in force on the demo's face set, proposes citing that evaluation (with a SYNTHETIC test
report beside it), the privacy officer countersigns.

With an engine that recognises people (dlib's) the demo's face set is the five vendored public-domain photographs of
three people (apps/matching/demo_faces/SOURCES.md): Obama enrolled from one, his two others found, Biden and Collins
passed over. That is far too few to call any threshold safe: with no false match in 2 comparisons the 95 % interval of
the false match rate reaches 0.66, so the gate forecasts up to 1,000 false alerts per 1,000 passers-by and refuses
both changes, and the gate has no waiver for a calibrated engine. The demo says so and proposes nothing; the
configured MATCH_THRESHOLD (0.900 from `make run`) stays the threshold in force as the configured default, and the
engine is approved for the demo by its own two-person approval (engine_approval.approve_engine, which the matching
demo also calls), before the deployments' demo puts one live.

With the uncalibrated engine the set is one public-domain portrait, altered, under four names: the engine separates
nothing on it, the evaluation says so, and the threshold is allowed only because FACE_ALLOW_UNCALIBRATED is set (the
change records that it was waived). Idempotent.
"""

import io

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageEnhance, ImageOps

from apps.accounts.models import User
from apps.matching.services import engine_approval, engine_evaluation
from apps.watchlists import demo as watchlists_demo

from . import services
from .choices import ChangeKind, ChangeState, DataClass
from .models import GovernedChange, RetentionPolicy

ORDER = 40
REPORT = (
    b"SYNTHETIC DEMO REPORT - not a real test.\n"
    b"A real report gives TPIR and FPIR at the threshold, by sex and by self-defined ethnicity, with the counts.\n"
)
EQUALITY = "SYNTHETIC DEMO: stands in for the laboratory's figures by sex and ethnicity at this setting."


DEMO_SET = "SYNTHETIC DEMO SET: one portrait under four names"
REAL_SET = "DEMO SET: five public-domain photographs of three people"
# The real set: each person's photographs (apps/matching/demo_faces; Collins is scikit-image's astronaut), the first
# the one enrolled.
REAL_PEOPLE = {"obama": ["obama", "obama2", "obama3"], "biden": ["biden"], "collins": ["astronaut"]}


def _report():
    return SimpleUploadedFile("synthetic-demo-report.txt", REPORT, content_type="text/plain")


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def demo_face_set() -> list[engine_evaluation.LabelledImage]:
    """The demo's face set: the public-domain portrait (apps/watchlists/demo_faces) mirrored, darkened, rotated and
    flattened, under four names; an engine that recognised people would call them all one person."""
    portrait = Image.open(watchlists_demo.FACE_PHOTO).convert("RGB")
    people = {
        "demo_a": [portrait, ImageOps.mirror(portrait)],
        "demo_b": [ImageEnhance.Brightness(portrait).enhance(0.6), portrait.rotate(6)],
        "demo_c": [ImageEnhance.Contrast(portrait).enhance(0.7)],
        "demo_d": [portrait.rotate(-6)],
    }
    return [
        engine_evaluation.LabelledImage(person, f"{person}/{number}.jpg", _jpeg(image))
        for person, images in people.items()
        for number, image in enumerate(images, start=1)
    ]


def real_face_set() -> list[engine_evaluation.LabelledImage]:
    """The five vendored public-domain photographs, by person."""
    found = []
    for person, names in REAL_PEOPLE.items():
        for number, name in enumerate(names, start=1):
            path = watchlists_demo.FACE_PHOTO if name == "astronaut" else watchlists_demo.REAL_FACES / f"{name}.jpg"
            found.append(engine_evaluation.LabelledImage(person, f"{person}/{number}.jpg", path.read_bytes()))
    return found


def _evaluation(commander):
    """The demo set's evaluation of the engine in force, run once per engine."""
    name, weights, _ = engine_approval.engine_identity()
    real = watchlists_demo.real_faces()
    set_name = REAL_SET if real else DEMO_SET
    found = engine_evaluation.reports_for_engine(name, weights).filter(set_name=set_name).first()
    return found or engine_evaluation.evaluate(commander, set_name, real_face_set() if real else demo_face_set())


def _propose(stdout, commander, privacy, kind, **fields) -> bool:
    """Propose and countersign a change; where the gate refuses it (the demo's set is too small to call a calibrated
    engine's threshold safe), say why, leave things as they are and return False."""
    try:
        change = services.propose(commander, kind, equality_evidence=EQUALITY, evidence=_report(), **fields)
    except ValidationError as refusal:
        detail = " ".join(refusal.messages)
        stdout.write(f"The governance gate refused the demo's {ChangeKind(kind).label.lower()} change: {detail}")
        return False
    services.countersign(privacy, change, note="SYNTHETIC DEMO countersignature.")
    return True


def seed(stdout) -> None:
    """Threshold version 1 and the engine in use in force; retention policies as the configured defaults."""
    commander, privacy = User.objects.get(username="commander"), User.objects.get(username="privacy")
    name, weights, calibrated = engine_approval.engine_identity()
    evaluation = _evaluation(commander)
    # The configured threshold in force, the governed way; again when the configuration changed (`make run` sets
    # 1.000 while the engine is uncalibrated, a database seeded earlier may hold 0.600).
    threshold, in_force = services.current_threshold()
    if in_force is None or threshold != settings.MATCH_THRESHOLD:
        GovernedChange.objects.filter(kind=ChangeKind.THRESHOLD, state=ChangeState.PROPOSED).update(
            state=ChangeState.REJECTED, decision_note="Superseded by the demo seed."
        )
        why = (
            "the threshold tested for this engine, as configured."
            if calibrated
            else "the engine is UNCALIBRATED (random weights) and recognises nobody: at 1.000 only the enrolled "
            "photographs themselves alert, so the demo shows alerts and deletion receipts apart."
        )
        _propose(
            stdout,
            commander,
            privacy,
            ChangeKind.THRESHOLD,
            threshold=settings.MATCH_THRESHOLD,
            reason=f"SYNTHETIC DEMO: {why}",
            evaluation=evaluation,
        )
    if (calibrated or settings.FACE_ALLOW_UNCALIBRATED) and not GovernedChange.objects.filter(
        kind=ChangeKind.ENGINE, engine_weights_sha256=weights, state=ChangeState.IN_FORCE
    ).exists():
        GovernedChange.objects.filter(kind=ChangeKind.ENGINE, state=ChangeState.PROPOSED).update(
            state=ChangeState.REJECTED, decision_note="Superseded by the demo seed."
        )
        reason = "SYNTHETIC DEMO: approved for demonstration only" + ("." if calibrated else "; it recognises nobody.")
        if not _propose(stdout, commander, privacy, ChangeKind.ENGINE, reason=reason, evaluation=evaluation):
            # As the matching demo approves it (ORDER 110), but before the deployments' demo puts one live: the
            # engine's own approval by two people, which the go-live gate reads; no governed change records it.
            engine_approval.approve_engine(commander, reason=reason, countersigned_by=privacy)
    for data_class in DataClass:
        if not RetentionPolicy.objects.filter(data_class=data_class).exists():
            services.set_retention(
                privacy,
                data_class,
                hours=settings.RETENTION_DEFAULT_HOURS[data_class],
                reason="SYNTHETIC DEMO: the configured default, confirmed by the privacy officer.",
            )
    threshold, change = services.current_threshold()
    source = "a countersigned change" if change else "the configured default (no governed change)"
    stdout.write(f"Threshold {threshold} in force by {source}; engine {name}.")
    if threshold != settings.MATCH_THRESHOLD:
        stdout.write(
            f"The demo's deployments run at the configured {settings.MATCH_THRESHOLD} and will not go live: start from"
            f" an empty database, or set MATCH_THRESHOLD={threshold} (README, The demo)."
        )
