"""The custody search at scale: the gallery's projection, its HNSW index, and exact re-ranking (issue 5, custody).

The gallery here is synthetic (structured vectors, as benchmarks/custody_bench.py makes them) written straight into
the custody tables, since 1,200 real face photos cannot be had; the real engine's enrolment path is tested with the
astronaut photo at the end.
"""

import datetime

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction

from apps.audit.models import Event
from apps.matching import custody_index, retrospective
from apps.matching.models import CustodyProjection, CustodyReduced, CustodyTemplate
from apps.watchlists.choices import LegalBasis
from apps.watchlists.models import CustodyImage, Subject

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
PEOPLE, IMAGES = 300, 4


def _structured(rng, count: int) -> np.ndarray:
    """Unit vectors mostly in a 32-d subspace, as face templates concentrate in few directions."""
    basis = np.linalg.qr(rng.standard_normal((512, 32)))[0]
    centres = rng.standard_normal((count, 32)) @ basis.T * 0.85 + rng.standard_normal((count, 512)) * 0.15 / 22.6
    return centres / np.linalg.norm(centres, axis=1, keepdims=True)


def _noisy(rng, centres: np.ndarray, cosine: float) -> np.ndarray:
    noise = rng.standard_normal(centres.shape)
    noise -= (noise * centres).sum(axis=1, keepdims=True) * centres
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    rows = cosine * centres + np.sqrt(1 - cosine**2) * noise
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def gallery(actors):
    """1,200 custody templates of 300 people (4 images each), and 40 probes: new images of people in the gallery."""
    rng = np.random.default_rng(5)
    centres = _structured(rng, PEOPLE)
    subjects = Subject.objects.bulk_create(
        Subject(
            family_name=f"Person{n}",
            given_names="Test",
            date_of_birth=datetime.date(1980, 1, 1),
            created_by=actors.compiler,
        )
        for n in range(PEOPLE)
    )
    images = CustodyImage.objects.bulk_create(
        CustodyImage(
            subject=subjects[n // IMAGES],
            captured_on=datetime.date(2026, 1, 1),
            source_system="synthetic",
            legal_basis=LegalBasis.OTHER_LAWFUL,
            uploaded_by=actors.compiler,
            content_type="image/jpeg",
            width=1,
            height=1,
            size_bytes=1,
            sha256=f"{n:064x}",
            key_id="test",
            ciphertext=b"-",
        )
        for n in range(PEOPLE * IMAGES)
    )
    vectors = _noisy(rng, np.repeat(centres, IMAGES, axis=0), 0.9).astype(np.float16)
    CustodyTemplate.objects.bulk_create(
        CustodyTemplate(
            image=image, subject=image.subject, embedding=vector.tolist(), engine="synthetic", weights_sha256="0" * 64
        )
        for image, vector in zip(images, vectors, strict=True)
    )
    probes = _noisy(rng, centres[rng.choice(PEOPLE, 40, replace=False)], 0.8).astype(np.float32)
    return vectors.astype(np.float32), images, probes


def _exact(vectors: np.ndarray, images, probe: np.ndarray) -> list[int]:
    scores = vectors @ probe
    return [images[i].pk for i in np.argsort(-scores, kind="stable")[: retrospective.CANDIDATES]]


def test_fitting_projects_every_template_and_the_search_then_matches_exact_search(gallery):
    vectors, images, probes = gallery
    projection = custody_index.fit(sample=1_000)
    assert projection.dimensions == 128 and projection.sample_size == 1_000
    assert 0.5 < projection.energy_kept <= 1.0
    assert CustodyReduced.objects.count() == len(images)
    event = Event.objects.filter(action="custody_projection.fitted").get()
    assert event.data["templates"] == len(images) and event.data["sample"] == 1_000
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'custody_reduced_hnsw'")
        assert "hnsw" in cursor.fetchone()[0]
    agree = 0
    for probe in probes:
        found = retrospective._candidates(probe)
        assert [c["score"] for c in found] == sorted((c["score"] for c in found), reverse=True)
        agree += [c["image"] for c in found] == _exact(vectors, images, probe)
    assert agree >= 39  # exact re-ranking: the same top 10 as an exact search, but for float ties


def test_the_search_finds_its_candidates_through_the_projections_index(gallery):
    _, _, probes = gallery
    custody_index.fit(sample=1_000)
    reduced = custody_index.project(probes[0][None, :], custody_index.current()[1])[0]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a 1,200-row table: make the planner show the index path
        cursor.execute(
            "EXPLAIN SELECT template_id FROM matching_custodyreduced ORDER BY vector <=> %s::halfvec LIMIT 100",
            [custody_index.literal(reduced)],
        )
        assert "custody_reduced_hnsw" in " ".join(row[0] for row in cursor.fetchall())


def test_without_a_projection_the_search_uses_the_full_vectors(gallery):
    vectors, images, probes = gallery
    assert custody_index.current() is None
    with transaction.atomic(), connection.cursor() as cursor:
        assert custody_index.candidates(cursor, probes[0], 10, 100) is None
    assert retrospective._candidates(probes[0])[0]["image"] == _exact(vectors, images, probes[0])[0]


def test_a_small_gallery_is_not_fitted(actors, gallery, monkeypatch):
    monkeypatch.setattr(custody_index, "MIN_TEMPLATES", 5_000)
    with pytest.raises(ValidationError, match="holds 1,200 custody templates"):
        custody_index.fit(sample=1_000)
    assert not CustodyProjection.objects.exists() and not CustodyReduced.objects.exists()


def test_a_gallery_whose_energy_is_spread_evenly_is_not_fitted(gallery):
    rng = np.random.default_rng(9)
    for template in CustodyTemplate.objects.all():
        spread = rng.standard_normal(512)
        template.embedding = (spread / np.linalg.norm(spread)).tolist()
        template.save(update_fields=["embedding"])
    with pytest.raises(ValidationError, match="under 60%"):
        custody_index.fit(sample=1_000)
    assert not CustodyProjection.objects.exists() and not CustodyReduced.objects.exists()


def test_fitting_again_replaces_the_projection_and_every_projected_template(gallery):
    first = custody_index.fit(sample=1_000)
    second = custody_index.fit(sample=1_100)
    assert list(CustodyProjection.objects.values_list("pk", flat=True)) == [second.pk] != [first.pk]
    assert set(CustodyReduced.objects.values_list("projection", flat=True)) == {second.pk}
    assert CustodyReduced.objects.count() == CustodyTemplate.objects.count()


def test_a_template_enrolled_after_the_fit_is_projected_and_deleted_with_its_image(actors, gallery, astronaut):
    from tests.matching_fixtures import astronaut_subject

    custody_index.fit(sample=1_000)
    _, image = astronaut_subject(actors.compiler, astronaut)
    assert retrospective.enrol_custody_image(image.pk)
    template = CustodyTemplate.objects.get(image=image)
    assert CustodyReduced.objects.filter(template=template).exists()
    request = retrospective.submit(actors.officer, [astronaut], incident_reference="CAD 1/5DEC", crime_type="Theft")
    retrospective.run_search(request.pk)
    assert request.probes.get().candidates[0]["image"] == image.pk
    CustodyTemplate.objects.filter(pk=template.pk).delete()
    assert not CustodyReduced.objects.filter(template_id=template.pk).exists()


def test_the_command_fits_and_reports(gallery, capsys):
    call_command("custody_index", "status")
    assert "No projection" in capsys.readouterr().out
    call_command("custody_index", "fit", "--sample", "1000")
    assert "1,200 templates projected and indexed" in capsys.readouterr().out
    call_command("custody_index", "status")
    assert "1,200 of 1,200 templates projected" in capsys.readouterr().out
