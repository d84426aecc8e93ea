"""Demo: the threshold and the engine in force through a countersigned change, and retention policies set.

Runs before the matching demo (ORDER), so the engine the demo deployments use is approved the governed way: the
commander evaluates the engine in force on the demo's face set, proposes citing that evaluation (with a SYNTHETIC test
report beside it), the privacy officer countersigns. The demo's face set is one public-domain portrait, altered,
under four names: the uncalibrated engine separates nothing on it, the evaluation says so, and the threshold is
allowed only because FACE_ALLOW_UNCALIBRATED is set (the change records that it was waived). Idempotent.
"""

import io

from django.conf import settings
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


def _evaluation(commander):
    """The demo set's evaluation of the engine in force, run once per engine."""
    name, weights, _ = engine_approval.engine_identity()
    found = engine_evaluation.reports_for_engine(name, weights).filter(set_name=DEMO_SET).first()
    return found or engine_evaluation.evaluate(commander, DEMO_SET, demo_face_set())


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
        change = services.propose(
            commander,
            ChangeKind.THRESHOLD,
            threshold=settings.MATCH_THRESHOLD,
            reason=f"SYNTHETIC DEMO: {why}",
            equality_evidence=EQUALITY,
            evaluation=evaluation,
            evidence=_report(),
        )
        services.countersign(privacy, change, note="SYNTHETIC DEMO countersignature.")
    if (calibrated or settings.FACE_ALLOW_UNCALIBRATED) and not GovernedChange.objects.filter(
        kind=ChangeKind.ENGINE, engine_weights_sha256=weights, state=ChangeState.IN_FORCE
    ).exists():
        GovernedChange.objects.filter(kind=ChangeKind.ENGINE, state=ChangeState.PROPOSED).update(
            state=ChangeState.REJECTED, decision_note="Superseded by the demo seed."
        )
        change = services.propose(
            commander,
            ChangeKind.ENGINE,
            reason="SYNTHETIC DEMO: approved for demonstration only; it recognises nobody.",
            equality_evidence=EQUALITY,
            evaluation=evaluation,
            evidence=_report(),
        )
        services.countersign(privacy, change, note="SYNTHETIC DEMO countersignature.")
    for data_class in DataClass:
        if not RetentionPolicy.objects.filter(data_class=data_class).exists():
            services.set_retention(
                privacy,
                data_class,
                hours=settings.RETENTION_DEFAULT_HOURS[data_class],
                reason="SYNTHETIC DEMO: the configured default, confirmed by the privacy officer.",
            )
    stdout.write(f"Threshold {services.current_threshold()[0]} and engine {name} in force by countersigned changes.")
