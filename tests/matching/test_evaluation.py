"""The evaluation's figures on synthetic vectors whose truth is known: exact where the scores are built exactly, within
the 95 % interval where they are drawn at random."""

import math
from decimal import Decimal
from statistics import NormalDist

import numpy as np
import pytest

from apps.matching import evaluation


def test_the_wilson_interval_matches_published_values():
    # Newcombe (1998), table I: 0 of 10 and 5 of 10.
    assert evaluation.wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert evaluation.wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert evaluation.wilson(0, 0) == (0.0, 1.0)
    low, high = evaluation.wilson(15, 148)
    assert low == pytest.approx(0.0624, abs=1e-4) and high == pytest.approx(0.1605, abs=1e-4)


def _exact_set(strengths: list[float], images_each: int = 3, strangers: int = 4):
    """Identity i's images are c_i e_i + s_i u_j with every u_j its own direction: a template and its own identity's
    other images score exactly c_i^2, anyone else 0."""
    identities, rows = [], []
    count = len(strengths) * images_each + strangers
    dimensions = len(strengths) + strangers + count
    image = 0
    for i, strength in enumerate(strengths):
        for _ in range(images_each):
            vector = np.zeros(dimensions)
            vector[i], vector[len(strengths) + strangers + image] = strength, math.sqrt(1 - strength**2)
            rows.append(vector)
            identities.append(f"person{i}")
            image += 1
    for k in range(strangers):
        vector = np.zeros(dimensions)
        vector[len(strengths) + k] = 1.0
        rows.append(vector)
        identities.append(f"stranger{k}")
    return np.array(rows), identities


def test_the_split_enrols_half_the_people_with_several_images_and_probes_with_the_rest():
    chosen = evaluation.split(["a", "a", "b", "b", "b", "c", "d", "d"])
    assert len(chosen.enrolled) == 2 and "c" not in chosen.enrolled
    assert len(chosen.templates) == 2 and len(chosen.mated) + len(chosen.non_mated) == 6
    # Everyone has two images: one is still left out, so non-mated probes exist.
    assert len(evaluation.split(["a", "a", "b", "b"]).enrolled) == 1


def test_tpir_is_exact_where_the_scores_are_built_exactly():
    strengths = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    vectors, identities = _exact_set(strengths)
    report = evaluation.evaluate(vectors, identities, thresholds=[Decimal("0.30"), Decimal("0.50"), Decimal("0.70")])
    enrolled = evaluation.split(identities).enrolled
    scores = sorted(strengths[int(name.removeprefix("person"))] ** 2 for name in enrolled)
    for row in report["thresholds"]:
        t = float(row["threshold"])
        expected = sum(2 for score in scores if score >= t)  # two mated probes each
        assert row["tpir"]["k"] == expected and row["tpir"]["n"] == 2 * len(scores)
        assert row["fmr"]["k"] == 0 and all(cell["k"] == 0 for cell in row["fpir"].values())
        assert row["tpir"]["low"] <= row["tpir"]["rate"] <= row["tpir"]["high"]
    assert report["gallery"] == 3 and report["mated_probes"] == 6 and report["non_mated_probes"] == 3 * 3 + 4


def test_fpir_at_a_gallery_size_is_the_exact_average_over_its_subsets():
    # Three enrolled people; one stranger scores 0.5 against person0's template only: at gallery size 1 a third of
    # the galleries hold that template, at 3 all do.
    vectors, identities = _exact_set([0.8, 0.8, 0.8, 0.8, 0.8, 0.8], strangers=1)
    chosen = evaluation.split(identities)
    first = chosen.templates[0]
    own_direction = np.eye(vectors.shape[1])[6]  # stranger0's own, shared with nobody
    vectors[identities.index("stranger0")] = 0.5 * vectors[first] + math.sqrt(0.75) * own_direction
    report = evaluation.evaluate(vectors, identities, thresholds=[Decimal("0.40")])
    row = report["thresholds"][0]
    probes = report["non_mated_probes"]
    assert report["gallery_sizes"] == [1, 3]
    assert row["fpir"]["1"]["k"] == pytest.approx(1 / 3) and row["fpir"]["1"]["n"] == probes
    assert row["fpir"]["3"]["k"] == 1 and row["fmr"]["k"] == 1 and row["fmr"]["n"] == probes * 3


def test_random_people_score_as_the_normal_law_says_and_the_intervals_hold_the_truth():
    # Non-mated scores of independent random unit vectors in d dimensions are close to N(0, 1/d): at t = 1/sqrt(d)
    # each comparison alerts with probability about 1 - Phi(1) = 0.159 (exact for the sphere: within 0.005 at d=64).
    rng = np.random.default_rng(7)
    d, people = 64, 400
    centres = rng.standard_normal((people, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noisy = centres.repeat(2, axis=0) + 0.05 * rng.standard_normal((2 * people, d))
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    identities = [f"p{i}" for i in range(people) for _ in range(2)]
    t = Decimal(1) / Decimal(8)
    report = evaluation.evaluate(noisy, identities, thresholds=[t, Decimal("0.700")], list_sizes=[10, 1000])
    at_t, strict = report["thresholds"]
    truth = 1 - NormalDist().cdf(1.0)
    assert at_t["fmr"]["low"] <= truth <= at_t["fmr"]["high"]
    assert abs(at_t["fmr"]["rate"] - truth) < 0.01
    # At gallery size 10, FPIR is 1 - (1 - FMR)^10 for independent comparisons.
    assert at_t["fpir"]["10"]["low"] <= 1 - (1 - truth) ** 10 <= at_t["fpir"]["10"]["high"]
    assert at_t["forecast"]["10"]["per_1000"] == pytest.approx(1000 * (1 - (1 - at_t["fmr"]["rate"]) ** 10))
    # Little noise: at 0.7 everyone enrolled is found first, and nobody else alerts.
    assert strict["tpir"]["k"] == strict["tpir"]["n"] == 200 and strict["fmr"]["k"] == 0
    assert report["separates"]


def test_an_engine_that_scores_every_pair_alike_is_reported_as_separating_nothing():
    # Today's random-weights engine: every pair scores at least 0.998.
    rng = np.random.default_rng(3)
    base = np.ones(128) / math.sqrt(128)
    vectors = base + 0.001 * rng.standard_normal((40, 128))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    identities = [f"p{i // 2}" for i in range(40)]
    report = evaluation.evaluate(vectors, identities, list_sizes=[100])
    assert not report["separates"] and report["scores"]["non_mated"]["min"] > 0.99
    assert evaluation.safe_threshold(report, 100, ceiling=1.0) is None


def test_groups_are_reported_where_labels_exist():
    vectors, identities = _exact_set([0.9, 0.9, 0.9, 0.9], strangers=2)
    labels = {f"person{i}": {"sex": "female" if i % 2 else "male"} for i in range(4)}
    labels["stranger0"] = {"sex": "female", "ethnic_group": "asian"}
    report = evaluation.evaluate(vectors, identities, thresholds=[Decimal("0.5")], groups=labels)
    groups = report["thresholds"][0]["groups"]
    assert set(groups) == {"sex", "ethnic_group"}
    assert groups["ethnic_group"]["asian"]["fpir"]["n"] == 1 and "tpir" not in groups["ethnic_group"]["asian"]
    mated = sum(cell.get("tpir", {"n": 0})["n"] for cell in groups["sex"].values())
    assert mated == report["mated_probes"]


def test_the_forecast_reads_the_report_at_or_below_the_proposed_threshold():
    report = {
        "thresholds": [
            {"threshold": "0.600", "fmr": evaluation.rate(10, 100_000)},
            {"threshold": "0.700", "fmr": evaluation.rate(0, 100_000)},
        ]
    }
    assert evaluation.forecast(report, Decimal("0.590"), 1000) is None
    at_650 = evaluation.forecast(report, Decimal("0.650"), 1000)
    assert at_650["threshold"] == "0.600"
    assert at_650["per_1000"] == pytest.approx(1000 * (1 - (1 - 1e-4) ** 1000))
    # 0 of 100,000: the upper end is about 3.84e-5 a comparison, 38 per 1,000 at 1,000 entries, 0.38 at 10.
    assert evaluation.forecast(report, Decimal("0.700"), 10)["high"] == pytest.approx(0.384, abs=0.001)
    assert evaluation.safe_threshold(report, 10, ceiling=1.0) == "0.700"
    assert evaluation.safe_threshold(report, 1000, ceiling=1.0) is None
