"""The custody search at scale: the gallery's projection, its graph, and exact re-ranking (issue 5, custody).

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
from django.test.utils import CaptureQueriesContext

from apps.audit.models import Event
from apps.matching import custody_graph
from apps.matching.engine import get_engine
from apps.matching.models import CustodyProjection, CustodyReduced, CustodyTemplate
from apps.matching.services import custody_index, retrospective
from apps.watchlists.choices import LegalBasis
from apps.watchlists.models import CustodyImage, Subject

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(autouse=True)
def graph_dir(settings, tmp_path):
    """Each test's own graph files, and no graph left in memory from another test."""
    settings.CUSTODY_GRAPH_DIR = tmp_path / "custody-graph"
    custody_graph.forget()
    yield settings.CUSTODY_GRAPH_DIR
    custody_graph.forget()


@pytest.fixture(scope="module")
def facenet_engine():
    from apps.matching.engine import FacenetEngine

    return FacenetEngine()


@pytest.fixture(autouse=True)
def facenet(settings, monkeypatch, facenet_engine):
    """The projection is for 512-d engines: these tests run facenet's (uncalibrated: the synthetic gallery's vectors
    stand in for its templates), whatever the suite's engine."""
    from apps.matching import engine

    settings.FACE_ENGINE = "facenet"
    monkeypatch.setattr(engine, "_engine", facenet_engine)
    return facenet_engine


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


def _templates(compiler, vectors: np.ndarray, per_subject: int = IMAGES, engine=None) -> list[CustodyImage]:
    """A custody image record and template for each vector (synthetic: no photo behind them), `per_subject` a person,
    as the engine in use made them (or as `engine`, a (name, weights hash), did)."""
    name, weights = engine or (get_engine().name, get_engine().weights_sha256)
    subjects = Subject.objects.bulk_create(
        Subject(
            family_name=f"Person{n}",
            given_names="Test",
            date_of_birth=datetime.date(1980, 1, 1),
            created_by=compiler,
        )
        for n in range(-(-len(vectors) // per_subject))
    )
    images = CustodyImage.objects.bulk_create(
        CustodyImage(
            subject=subjects[n // per_subject],
            captured_on=datetime.date(2026, 1, 1),
            source_system="synthetic",
            legal_basis=LegalBasis.OTHER_LAWFUL,
            uploaded_by=compiler,
            content_type="image/jpeg",
            width=1,
            height=1,
            size_bytes=1,
            sha256=f"{n:064x}",
            key_id="test",
            ciphertext=b"-",
        )
        for n in range(len(vectors))
    )
    CustodyTemplate.objects.bulk_create(
        CustodyTemplate(
            image=image, subject=image.subject, embedding=vector.tolist(), engine=name, weights_sha256=weights
        )
        for image, vector in zip(images, vectors, strict=True)
    )
    return images


@pytest.fixture
def gallery(actors):
    """1,200 custody templates of 300 people (4 images each), and 40 probes: new images of people in the gallery.

    The full vectors' HNSW index is dropped for the test (and comes back with its rollback): each test's 1,200 rows
    would otherwise stay in it as dead entries until autovacuum came, crowding other tests' searches."""
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX custody_template_hnsw_512")
    rng = np.random.default_rng(5)
    centres = _structured(rng, PEOPLE)
    vectors = _noisy(rng, np.repeat(centres, IMAGES, axis=0), 0.9).astype(np.float16)
    images = _templates(actors.compiler, vectors)
    probes = _noisy(rng, centres[rng.choice(PEOPLE, 40, replace=False)], 0.8).astype(np.float32)
    return vectors.astype(np.float32), images, probes


def test_before_a_fit_deleted_templates_do_not_crowd_out_the_live_ones(actors):
    """HNSW on the full vectors keeps deleted templates' entries until VACUUM; the search walks on past them."""
    rng = np.random.default_rng(8)
    probe = _structured(rng, 1)[0]
    near = _noisy(rng, np.repeat(probe[None, :], 3 * retrospective.EF_SEARCH, axis=0), 0.95)
    (live,) = _templates(actors.compiler, _noisy(rng, probe[None, :], 0.5))
    gone = _templates(actors.compiler, near)
    CustodyImage.objects.filter(pk__in=[image.pk for image in gone]).delete()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the index path, as in a gallery of thousands
    found = retrospective._candidates(probe.astype(np.float32), None, get_engine())
    assert [c["image"] for c in found] == [live.pk]


def _exact(vectors: np.ndarray, images, probe: np.ndarray) -> list[int]:
    scores = vectors @ probe
    return [images[i].pk for i in np.argsort(-scores, kind="stable")[: retrospective.CANDIDATES]]


def test_fitting_projects_every_template_and_the_search_then_matches_exact_search(gallery, graph_dir):
    vectors, images, probes = gallery
    projection = custody_index.fit(sample=1_000)
    assert projection.dimensions == 128 and projection.sample_size == 1_000
    assert 0.5 < projection.energy_kept <= 1.0
    assert CustodyReduced.objects.count() == len(images)
    event = Event.objects.filter(action="custody_projection.fitted").get()
    assert event.data["templates"] == len(images) and event.data["sample"] == 1_000
    assert sorted(path.suffixes[-1] for path in graph_dir.glob("projection-*")) == [".hnsw", ".npy"]
    search = custody_index.searcher()
    assert search.graph.size == len(images)
    agree = 0
    for probe in probes:
        found = retrospective._candidates(probe, search, get_engine())
        assert [c["score"] for c in found] == sorted((c["score"] for c in found), reverse=True)
        agree += [c["image"] for c in found] == _exact(vectors, images, probe)
    assert agree >= 39  # exact re-ranking: the same top 10 as an exact search, but for float ties


def _reduced_exact(search, probe: np.ndarray, count: int) -> list[int]:
    rows = CustodyReduced.objects.order_by("template_id").values_list("template_id", "vector")
    ids = np.array([pk for pk, _ in rows])
    reduced = np.array([np.asarray(vector, dtype=np.float32) for _, vector in rows])
    reduced /= np.linalg.norm(reduced, axis=1, keepdims=True)
    query = custody_index.project(probe[None, :], search.matrix)[0]
    return ids[np.argsort(-(reduced @ (query / np.linalg.norm(query))))[:count]].tolist()


def test_the_search_finds_its_candidates_through_the_graph_of_the_projections(gallery):
    _, _, probes = gallery
    custody_index.fit(sample=1_000)
    search = custody_index.searcher()
    hits = 0
    for probe in probes[:10]:
        found = search.graph.search(custody_index.project(probe[None, :], search.matrix)[0], 50, 100).tolist()
        assert len(found) == 50
        hits += len(set(found) & set(_reduced_exact(search, probe, 50)))
    assert hits >= 490  # HNSW at 1,200 templates: the projection's exact nearest 50, but for a near tie or two


def test_the_re_rank_reads_the_candidates_by_id_not_through_the_full_vectors_index(gallery):
    _, _, probes = gallery
    custody_index.fit(sample=1_000)
    search = custody_index.searcher()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        assert len(search.candidates(cursor, probes[0], 10, 200, 700)) == 10
        (rerank,) = (query["sql"] for query in queries if "matching_custodytemplate" in query["sql"])
        cursor.execute("SET LOCAL enable_seqscan = off")  # tempt the planner towards an index, as at scale
        cursor.execute("EXPLAIN " + rerank)
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "matching_custodytemplate_pkey" in plan and "custody_template_hnsw" not in plan, plan


def test_the_graph_files_hold_no_vector(gallery, graph_dir):
    custody_index.fit(sample=1_000)
    stored = b"".join(path.read_bytes() for path in graph_dir.glob("projection-*"))
    assert len(stored) > 1_200 * 8  # the links and the ids are there
    codes = custody_graph._codes(custody_index.searcher().graph.storage)
    assert not any(code[:16].tobytes() in stored for code in codes)  # nor the codes held in memory
    for vector in CustodyReduced.objects.values_list("vector", flat=True)[:300]:
        values = np.asarray(vector, dtype=np.float32)
        for form in (values, values / np.linalg.norm(values)):
            assert form[:4].tobytes() not in stored and form[:4].astype(np.float16).tobytes() not in stored
            assert form[:4].astype(">f2").tobytes() not in stored


def test_a_process_without_the_files_builds_them_from_the_record(gallery, graph_dir):
    _, _, probes = gallery
    custody_index.fit(sample=1_000)
    before = [retrospective._candidates(probe, custody_index.searcher(), get_engine()) for probe in probes[:5]]
    for path in graph_dir.glob("projection-*"):
        path.unlink()
    custody_graph.forget()  # as a worker that starts on another machine
    search = custody_index.searcher()
    assert search.graph.size == CustodyTemplate.objects.count()
    assert sorted(path.suffixes[-1] for path in graph_dir.glob("projection-*")) == [".hnsw", ".npy"]
    assert [retrospective._candidates(probe, search, get_engine()) for probe in probes[:5]] == before


def test_an_unreadable_graph_file_is_built_again(gallery, graph_dir):
    _, _, probes = gallery
    custody_index.fit(sample=1_000)
    (graph_file,) = graph_dir.glob("*.hnsw")
    graph_file.write_bytes(b"not a graph")
    custody_graph.forget()
    search = custody_index.searcher()
    assert search.graph.size == CustodyTemplate.objects.count()
    assert graph_file.stat().st_size > 1_200 * 8
    assert retrospective._candidates(probes[0], search, get_engine())


def test_a_loaded_graph_reads_its_vectors_from_the_record(gallery):
    """The files hold links and ids only: a process that loads them takes each position's vector from the record,
    and a template deleted since the files were written is loaded as nothing."""
    _, images, probes = gallery
    custody_index.fit(sample=1_000)
    built = [retrospective._candidates(probe, custody_index.searcher(), get_engine()) for probe in probes[:5]]
    gone = CustodyTemplate.objects.get(image=images[0])
    custody_graph.forget()
    CustodyImage.objects.filter(pk=images[0].pk).delete()
    search = custody_index.searcher()
    assert search.graph.size == len(images) - 1
    (position,) = np.flatnonzero(search.graph.ids == -1)
    assert (
        custody_graph._codes(search.graph.storage)[position] == custody_graph._zero_code(search.graph.storage)
    ).all()
    assert gone.pk not in search.graph.ids
    loaded = [retrospective._candidates(probe, search, get_engine()) for probe in probes[:5]]
    assert [[c for c in found if c["image"] != images[0].pk] for found in built] == [
        [c for c in found if c["image"] != images[0].pk] for found in loaded
    ]


def test_a_deleted_template_is_never_a_candidate_and_leaves_the_graphs_memory(gallery):
    _, images, probes = gallery
    custody_index.fit(sample=1_000)
    search = custody_index.searcher()
    nearest = retrospective._candidates(probes[0], search, get_engine())[0]["image"]
    template = CustodyTemplate.objects.get(image_id=nearest)
    (position,) = np.flatnonzero(search.graph.ids == template.pk)
    CustodyImage.objects.filter(pk=nearest).delete()
    found = retrospective._candidates(probes[0], search, get_engine())
    assert nearest not in [c["image"] for c in found]  # before any sync
    zero = custody_graph._zero_code(search.graph.storage)
    assert (custody_graph._codes(search.graph.storage)[position] != zero).any()
    search = custody_index.searcher()  # the next search request
    assert search.graph.ids[position] == -1 and (custody_graph._codes(search.graph.storage)[position] == zero).all()
    assert search.graph.size == len(images) - 1


def test_after_a_third_of_the_gallery_is_deleted_the_search_still_matches_exact_search(gallery):
    """Deleted positions stay in the graph as the zero vector's code and are never returned: they neither outscore
    real candidates nor take their places among the re-ranked."""
    vectors, images, probes = gallery
    custody_index.fit(sample=1_000)
    custody_index.searcher()
    gone = np.random.default_rng(3).choice(len(images), len(images) // 3, replace=False)
    CustodyImage.objects.filter(pk__in=[images[i].pk for i in gone]).delete()
    kept = np.setdiff1d(np.arange(len(images)), gone)
    search = custody_index.searcher()
    assert search.graph.size == len(kept)
    agree = 0
    for probe in probes:
        found = [c["image"] for c in retrospective._candidates(probe, search, get_engine())]
        agree += found == _exact(vectors[kept], [images[i] for i in kept], probe)
    assert agree >= 39


def test_a_search_that_overlaps_a_refit_takes_the_new_projection(gallery):
    _, _, probes = gallery
    first = custody_index.fit(sample=1_000)
    custody_index.searcher()
    second = custody_index.fit(sample=1_100)  # meanwhile, in another process, say
    custody_graph.forget()
    with pytest.raises(custody_graph.Superseded):
        custody_graph.for_projection(first.pk, first.components_sha256)  # no longer in force: nothing is zeroed
    search = custody_index.searcher()
    assert search.graph.projection == (second.pk, second.components_sha256)
    assert search.graph.size == CustodyTemplate.objects.count()
    assert retrospective._candidates(probes[0], search, get_engine())


def test_fitting_again_removes_the_old_projections_files_once_it_commits(
    gallery, graph_dir, django_capture_on_commit_callbacks
):
    first = custody_index.fit(sample=1_000)
    (first_file,) = graph_dir.glob("*.hnsw")
    with django_capture_on_commit_callbacks(execute=True):
        second = custody_index.fit(sample=1_100)
    (second_file,) = graph_dir.glob("*.hnsw")
    assert second_file != first_file and f"-{second.pk}-" in second_file.name and f"-{first.pk}-" in first_file.name
    assert not first_file.exists() and len(list(graph_dir.glob("projection-*"))) == 2


def test_without_a_projection_the_search_uses_the_full_vectors(gallery):
    vectors, images, probes = gallery
    assert custody_index.current() is None and custody_index.searcher() is None
    assert retrospective._candidates(probes[0], None, get_engine())[0]["image"] == _exact(vectors, images, probes[0])[0]


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


def test_a_template_enrolled_after_the_fit_is_projected_and_deleted_with_its_image(
    actors, gallery, astronaut, engine_approved
):
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
    assert "1,200 templates projected, and their graph built" in capsys.readouterr().out
    call_command("custody_index", "status")
    assert "1,200 of 1,200 templates projected" in capsys.readouterr().out


OTHER_ENGINE = ("another-engine/v1", "e" * 64)


def test_another_engines_templates_are_never_candidates_nor_projected(actors, gallery):
    """Another engine's templates of the same size, nearer the probe than any of this engine's, are passed over by
    the full vectors' index, left out of the projection, and never reach the re-rank."""
    vectors, images, probes = gallery
    rng = np.random.default_rng(11)
    strangers = _templates(actors.compiler, _noisy(rng, np.repeat(probes[:1], 5, axis=0), 0.99), engine=OTHER_ENGINE)
    theirs = {image.pk for image in strangers}
    found = retrospective._candidates(probes[0], None, get_engine())
    assert not theirs & {c["image"] for c in found}
    assert found[0]["image"] == _exact(vectors, images, probes[0])[0]
    custody_index.fit(sample=1_000)
    assert CustodyReduced.objects.count() == len(images)  # this engine's templates only
    search = custody_index.searcher()
    found = retrospective._candidates(probes[0], search, get_engine())
    assert not theirs & {c["image"] for c in found}
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
    ):  # even were the graph to name them, the re-rank drops them
        rows = search.candidates(cursor, probes[0], 10, 200, 700)
    assert not theirs & {row[0] for row in rows}


def test_before_a_fit_the_search_walks_the_index_for_its_engines_vector_size(actors):
    rng = np.random.default_rng(12)
    probe = _structured(rng, 1)[0].astype(np.float32)
    _templates(actors.compiler, _noisy(rng, np.repeat(probe[None, :], 3, axis=0), 0.9))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the index path, as in a gallery of thousands
        assert len(retrospective._candidates(probe, None, get_engine())) == 3
        (search,) = (query["sql"] for query in queries if "FROM matching_custodytemplate" in query["sql"])
        cursor.execute("EXPLAIN " + search)
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "custody_template_hnsw_512" in plan, plan


def test_a_projection_is_in_force_only_for_the_engine_that_fitted_it(gallery, monkeypatch):
    custody_index.fit(sample=1_000)
    assert custody_index.current() is not None
    engine = get_engine()
    monkeypatch.setattr(engine, "weights_sha256", "f" * 64)  # other weights: another engine
    assert custody_index.current() is None and custody_index.searcher() is None


def test_an_engine_of_128_dimensions_is_not_projected(gallery, monkeypatch):
    monkeypatch.setattr(get_engine(), "dimensions", 128)
    with pytest.raises(ValidationError, match="would not shorten them"):
        custody_index.fit(sample=1_000)
    assert not CustodyProjection.objects.exists()
