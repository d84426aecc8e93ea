"""How well an engine tells people apart, computed from its vectors and who each image is: pure, no database.

The protocol (issue 24, item 3; the NPL 2023 study's measures): identities with two or more images are enrolled, half
of them chosen by a fixed seed, each by one template (its first image); their other images are the mated probes.
Every image of an identity not enrolled is a non-mated probe. At each threshold:

- TPIR: the share of mated probes whose best-scoring template is their own and scores at or above the threshold;
- FPIR at gallery size g: the share of non-mated probes that alert against any of g templates (at or above the
  threshold), averaged exactly over every g-subset of the gallery (no sampling);
- FMR: the share of non-mated probe-template comparisons at or above the threshold, from which the forecast
  extrapolates to a watchlist of any size N: expected false alerts per 1,000 passers-by = 1000 * (1 - (1 - FMR)^N),
  assuming comparisons alert independently;

each with a 95 % Wilson score interval, overall and per demographic group where labels exist. The intervals of FMR
(and so of the forecast) count comparisons as independent, which they are not (one probe meets every template): read
them as the narrowest honest interval, not a guarantee. A small set gives wide intervals, and the gate reads the upper
end (see `forecast`).
"""

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

Z95 = 1.959963984540054  # the standard normal quantile of a 95 % two-sided interval
INTERVAL = "Wilson score interval, 95 %"
DIMENSIONS = ("sex", "age_band", "ethnic_group")
DEFAULT_THRESHOLDS = tuple(Decimal(step) / 100 for step in range(30, 101))  # 0.30 to 1.00 in 0.01
DEFAULT_SEED = 0


def wilson(k: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of k successes in n trials (k may be an expected, fractional count); n = 0: (0, 1)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    low = 0.0 if k <= 0 else max(0.0, (centre - spread) / scale)  # exact at the ends, not a rounding away
    high = 1.0 if k >= n else min(1.0, (centre + spread) / scale)
    return low, high


def rate(k: float, n: int) -> dict:
    """A share with its count and its 95 % interval, as stored in a report."""
    low, high = wilson(k, n)
    return {"k": round(float(k), 6), "n": int(n), "rate": (k / n) if n else None, "low": low, "high": high}


def false_alerts_per_1000(fmr: float, list_size: int) -> float:
    """Expected false alerts per 1,000 passers-by against a list of `list_size`, each comparison alerting at `fmr`."""
    return 1000.0 * -math.expm1(list_size * math.log1p(-fmr)) if fmr < 1 else 1000.0


@dataclass(frozen=True)
class Split:
    """Which images are templates, mated probes and non-mated probes (indexes into the set's images)."""

    enrolled: list[str]  # the gallery's identities, in template order
    templates: list[int]
    mated: list[int]
    non_mated: list[int]


def split(identities: Sequence[str], seed: int = DEFAULT_SEED) -> Split:
    """Half the identities with two or more images enrolled by their first image (chosen by `seed`); the rest probe.

    At least one identity is enrolled and, when every identity has two images or more, at least one is left out, so
    that both mated and non-mated probes exist whenever the set allows it."""
    images: dict[str, list[int]] = {}
    for index, identity in enumerate(identities):
        images.setdefault(identity, []).append(index)
    several = sorted(identity for identity, found in images.items() if len(found) > 1)
    random.Random(seed).shuffle(several)
    count = math.ceil(len(several) / 2)
    if count == len(several) == len(images) and count > 1:
        count -= 1
    enrolled = sorted(several[:count])
    templates = [images[identity][0] for identity in enrolled]
    mated = [index for identity in enrolled for index in images[identity][1:]]
    non_mated = [
        index for identity, found in sorted(images.items()) if identity not in set(enrolled) for index in found
    ]
    return Split(enrolled, templates, mated, non_mated)


def gallery_sizes(gallery: int) -> list[int]:
    """1, 10, 100, ... up to the gallery, and the gallery itself."""
    sizes, size = [], 1
    while size < gallery:
        sizes.append(size)
        size *= 10
    return [*sizes, gallery] if gallery else []


def _miss_all(gallery: int, size: int) -> np.ndarray:
    """For c = 0..gallery alerting templates: the probability that a random `size`-subset holds none of them."""
    ratio = np.zeros(gallery + 1)
    ratio[0] = 1.0
    for c in range(gallery):
        left = gallery - c - size
        ratio[c + 1] = ratio[c] * left / (gallery - c) if left > 0 else 0.0
    return ratio


def evaluate(
    vectors: np.ndarray,
    identities: Sequence[str],
    *,
    thresholds: Sequence[Decimal] = DEFAULT_THRESHOLDS,
    list_sizes: Sequence[int] = (),
    groups: dict[str, dict[str, str]] | None = None,
    seed: int = DEFAULT_SEED,
) -> dict:
    """The report's figures (JSON-ready) for unit vectors, one row per image, and each image's identity.

    `groups` maps an identity to its labels (sex, age_band, ethnic_group); `list_sizes` are the watchlist sizes the
    forecast of false alerts per 1,000 passers-by is given for."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or len(vectors) != len(identities):
        raise ValueError("One vector per image, one identity per vector.")
    chosen = split(identities, seed)
    gallery = vectors[chosen.templates]
    mated_scores = vectors[chosen.mated] @ gallery.T
    non_mated_scores = vectors[chosen.non_mated] @ gallery.T
    own = {identity: column for column, identity in enumerate(chosen.enrolled)}
    mated_truth = np.array([own[identities[index]] for index in chosen.mated], dtype=int)
    if len(chosen.mated):
        best = mated_scores.max(axis=1)
        ranked_first = mated_scores.argmax(axis=1) == mated_truth
    else:
        best, ranked_first = np.zeros(0), np.zeros(0, dtype=bool)
    non_mated_best = non_mated_scores.max(axis=1) if len(chosen.templates) else np.zeros(len(chosen.non_mated))
    size_of_gallery = len(chosen.templates)
    sizes = gallery_sizes(size_of_gallery)
    miss = {size: _miss_all(size_of_gallery, size) for size in sizes}
    labels = groups or {}
    mated_groups = _members(labels, [identities[index] for index in chosen.mated])
    non_mated_groups = _members(labels, [identities[index] for index in chosen.non_mated])

    rows = []
    for threshold in thresholds:
        t = float(threshold)
        found = ranked_first & (best >= t)
        alerting = (non_mated_scores >= t).sum(axis=1) if size_of_gallery else np.zeros(len(chosen.non_mated), int)
        fmr = rate(int(alerting.sum()), len(chosen.non_mated) * size_of_gallery)
        row = {
            "threshold": f"{Decimal(threshold):.3f}",
            "tpir": rate(int(found.sum()), len(found)),
            "fpir": {str(size): rate(float((1 - miss[size][alerting]).sum()), len(alerting)) for size in sizes},
            "fmr": fmr,
            "forecast": {str(size): _forecast(fmr, size) for size in list_sizes},
            "groups": {},
        }
        for dimension, members in mated_groups.items():
            for group, rows_of_group in members.items():
                cell = row["groups"].setdefault(dimension, {}).setdefault(group, {})
                cell["tpir"] = rate(int(found[rows_of_group].sum()), len(rows_of_group))
        for dimension, members in non_mated_groups.items():
            for group, rows_of_group in members.items():
                cell = row["groups"].setdefault(dimension, {}).setdefault(group, {})
                cell["fpir"] = rate(int((non_mated_best[rows_of_group] >= t).sum()), len(rows_of_group))
                cell["fmr"] = rate(int(alerting[rows_of_group].sum()), len(rows_of_group) * size_of_gallery)
        rows.append(row)
    return {
        "interval": INTERVAL,
        "seed": seed,
        "images": len(identities),
        "identities": len(set(identities)),
        "dimensions": int(vectors.shape[1]),
        "gallery": size_of_gallery,
        "mated_probes": len(chosen.mated),
        "non_mated_probes": len(chosen.non_mated),
        "gallery_sizes": sizes,
        "list_sizes": [int(size) for size in list_sizes],
        "scores": _score_summary(best, non_mated_scores),
        "separates": _separates(rows),
        "thresholds": rows,
    }


def _members(labels: dict[str, dict[str, str]], probe_identities: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """For each dimension and group, the probe rows whose identity is labelled with it."""
    members: dict[str, dict[str, list[int]]] = {}
    for row, identity in enumerate(probe_identities):
        for dimension in DIMENSIONS:
            group = (labels.get(identity) or {}).get(dimension)
            if group:
                members.setdefault(dimension, {}).setdefault(group, []).append(row)
    return {d: {g: np.array(rows, dtype=int) for g, rows in found.items()} for d, found in members.items()}


def _forecast(fmr: dict, list_size: int) -> dict:
    """Expected false alerts per 1,000 passers-by at a list's size: the estimate and its interval's ends."""
    return {
        "per_1000": false_alerts_per_1000(fmr["rate"] or 0.0, list_size) if fmr["n"] else None,
        "low": false_alerts_per_1000(fmr["low"], list_size),
        "high": false_alerts_per_1000(fmr["high"], list_size),
    }


def _score_summary(mated_best: np.ndarray, non_mated: np.ndarray) -> dict:
    def span(values):
        return {"min": float(values.min()), "max": float(values.max())} if values.size else None

    return {"mated_best": span(mated_best), "non_mated": span(non_mated)}


def _separates(rows: list[dict]) -> bool:
    """Whether at some threshold the TPIR's interval lies wholly above the FPIR's at the whole gallery: if not, the
    set shows no threshold at which the engine finds people more often than it wrongly alerts."""
    for row in rows:
        if row["fpir"]:
            whole = row["fpir"][max(row["fpir"], key=int)]
            if row["tpir"]["n"] and row["tpir"]["low"] > whole["high"]:
                return True
    return False


def forecast(report: dict, threshold: Decimal, list_size: int) -> dict | None:
    """The forecast at a list's size for a proposed threshold, from the highest threshold in the report at or below it
    (a stricter threshold alerts no more often, so this errs on the side of more false alerts); None when the report
    does not reach down to it. Keys: the threshold read, per_1000 and its interval (low, high)."""
    below = [row for row in report["thresholds"] if Decimal(row["threshold"]) <= threshold]
    if not below:
        return None
    row = max(below, key=lambda found: Decimal(found["threshold"]))
    estimate = _forecast(row["fmr"], list_size)
    return {"threshold": row["threshold"], **estimate}


def safe_threshold(report: dict, list_size: int, ceiling: float) -> str | None:
    """The lowest threshold in the report whose forecast's upper end at `list_size` is within `ceiling` false alerts
    per 1,000 passers-by, and stays within it at every higher threshold; None if there is none."""
    safe = None
    for row in sorted(report["thresholds"], key=lambda found: Decimal(found["threshold"]), reverse=True):
        if _forecast(row["fmr"], list_size)["high"] > ceiling:
            break
        safe = row["threshold"]
    return safe
