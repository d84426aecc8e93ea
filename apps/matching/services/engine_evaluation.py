"""The engine in force evaluated on a labelled face set (one folder per identity, LFW's layout), the figures stored
and logged: what a threshold or engine proposal cites. The figures are computed by apps/matching/evaluation.py."""

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.audit import services as audit
from govern import policy
from govern.records import moment
from govern.uploads import ImageRejected, validate_image

from .. import evaluation
from ..engine import get_engine
from ..models import EngineEvaluation

LIST_SIZES = (10, 100, 1_000, 10_000, 20_000)  # the Met's lists: 9,756 images in 2022, 16-17k in 2026
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


@dataclass(frozen=True)
class LabelledImage:
    """One image of a face set: whose it is, its name in the set (identity/file), its bytes."""

    identity: str
    name: str
    content: bytes


def read_folder(folder: Path) -> list[LabelledImage]:
    """Every image file of a face set, one sub-folder per identity, in the order of their names."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValidationError({"folder": f"{folder} is not a folder."})
    images = []
    for person in sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith(".")):
        for file in sorted(path for path in person.iterdir() if path.is_file() and not path.name.startswith(".")):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                images.append(LabelledImage(person.name, f"{person.name}/{file.name}", file.read_bytes()))
    if not images:
        raise ValidationError({"folder": f"{folder} holds no images in sub-folders (one folder per person)."})
    return images


def read_labels(content: bytes) -> dict[str, dict[str, str]]:
    """Each identity's sex, age band and ethnic group from a CSV with the header identity,sex,age_band,ethnic_group
    (blank cells are unknown)."""
    try:
        rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValidationError({"labels": f"The labels are not a UTF-8 CSV file: {exc}"}) from None
    columns = {"identity", *evaluation.DIMENSIONS}
    if not rows or set(rows[0]) != columns:
        raise ValidationError({"labels": f"The labels' header is {','.join(['identity', *evaluation.DIMENSIONS])}."})
    labels = {}
    for line, row in enumerate(rows, start=2):
        identity = (row["identity"] or "").strip()
        if not identity or identity in labels:
            raise ValidationError({"labels": f"Line {line}: each identity once, named."})
        labels[identity] = {d: (row[d] or "").strip() for d in evaluation.DIMENSIONS if (row[d] or "").strip()}
    return labels


def set_sha256(images: Sequence[LabelledImage]) -> str:
    """SHA-256 over the images' names and bytes in order, each prefixed by its length: the same set, the same hash."""
    digest = hashlib.sha256()
    for image in images:
        name = image.name.encode()
        digest.update(len(name).to_bytes(8, "big") + name + len(image.content).to_bytes(8, "big"))
        digest.update(image.content)
    return digest.hexdigest()


def thresholds_from(values: Sequence[str] | None) -> list[Decimal]:
    """Thresholds between 0 and 1 with at most three decimals, sorted; the default grid when none are given."""
    if not values:
        return list(evaluation.DEFAULT_THRESHOLDS)
    found = set()
    for value in values:
        try:
            threshold = Decimal(str(value).strip())
        except ArithmeticError:
            threshold = Decimal("NaN")
        if not threshold.is_finite() or not 0 <= threshold <= 1 or threshold.as_tuple().exponent < -3:
            raise ValidationError({"thresholds": f"{value!r}: a threshold is a number from 0 to 1, three decimals."})
        found.add(threshold.quantize(Decimal("0.001")))
    return sorted(found)


def distinct_images(images: Sequence[LabelledImage]) -> tuple[list[LabelledImage], list[dict]]:
    """The set without repeated photographs, found by the SHA-256 of their bytes: a copy within one identity is left out
    (reported), since it would be a "mated" probe scoring 1.0 against its own template and inflate the comparisons
    counted; the same bytes under two identities is refused, because the labels then contradict themselves and every
    figure read from them would be wrong."""
    first: dict[str, LabelledImage] = {}
    kept, dropped, crossed = [], [], []
    for image in images:
        digest = hashlib.sha256(image.content).hexdigest()
        seen = first.setdefault(digest, image)
        if seen is image:
            kept.append(image)
        elif seen.identity == image.identity:
            dropped.append({"image": image.name, "problem": f"duplicate of {seen.name} (same SHA-256): left out"})
        else:
            crossed.append(f"{image.name} is {seen.name}")
    if crossed:
        raise ValidationError(
            {"folder": "The same photograph is filed under two identities (same SHA-256): " + "; ".join(crossed) + "."}
        )
    return kept, dropped


def _embed(engine, images: Sequence[LabelledImage]) -> tuple[list[np.ndarray], list[str], list[dict]]:
    """One vector per image (its largest face), and the images left out with the reason."""
    vectors, identities, problems = [], [], []
    for image in images:
        try:
            pixels = validate_image(image.content, keep_pixels=True).pixels
        except ImageRejected as exc:
            problems.append({"image": image.name, "problem": f"not a usable image: {exc}"})
            continue
        faces, rows = engine.detect_and_embed(pixels)
        if not len(faces):
            problems.append({"image": image.name, "problem": "no face found"})
            continue
        # LFW: the person is the largest, central face. An engine whose faces do not say their size: the first.
        largest = max(range(len(faces)), key=lambda index: getattr(faces[index], "size", 0))
        vectors.append(np.asarray(rows[largest], dtype=np.float64))
        identities.append(image.identity)
    return vectors, identities, problems


def evaluate(
    actor,
    set_name: str,
    images: Sequence[LabelledImage],
    *,
    labels: bytes | None = None,
    thresholds: Sequence[Decimal] | None = None,
    engine=None,
    now=None,
) -> EngineEvaluation:
    """Embed every image with the engine in force, compute the figures, store them with the hashes, and log it."""
    policy.require(actor, "matching.add_engineevaluation")
    thresholds = list(thresholds) if thresholds else list(evaluation.DEFAULT_THRESHOLDS)
    groups = read_labels(labels) if labels is not None else None
    engine = engine or get_engine()
    distinct, duplicates = distinct_images(images)
    vectors, identities, problems = _embed(engine, distinct)
    problems = duplicates + problems
    if len(set(identities)) < 2 or len(identities) == len(set(identities)):
        raise ValidationError(
            {"folder": "Too few usable faces: the set needs two people or more, one of them with two images or more."}
        )
    figures = evaluation.evaluate(
        np.array(vectors), identities, thresholds=thresholds, list_sizes=LIST_SIZES, groups=groups
    )
    with transaction.atomic():
        report = EngineEvaluation.objects.create(
            engine_name=engine.name,
            engine_weights_sha256=engine.weights_sha256,
            set_name=set_name[:200],
            set_sha256=set_sha256(images),
            labels_sha256=hashlib.sha256(labels).hexdigest() if labels is not None else "",
            thresholds=[f"{threshold:.3f}" for threshold in thresholds],
            figures=figures,
            problems=problems,
            run_by=actor,
            run_at=moment(now),
        )
        audit.record(
            "engine.evaluated",
            report,
            actor,
            data={
                "engine": report.engine_name,
                "weights_sha256": report.engine_weights_sha256,
                "set": report.set_name,
                "set_sha256": report.set_sha256,
                "labels_sha256": report.labels_sha256,
                "images": figures["images"],
                "left_out": len(problems),
                "duplicates_left_out": len(duplicates),
                "separates": figures["separates"],
            },
        )
    return report


def reports_for_engine(name: str, weights_sha256: str):
    """The evaluations of one engine (its name and weights), newest first."""
    return EngineEvaluation.objects.filter(engine_name=name, engine_weights_sha256=weights_sha256)
