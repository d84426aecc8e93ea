"""The custody search at scale: templates projected onto the gallery's principal directions, found by HNSW in 128
dimensions, then re-ranked exactly on their full 512-d vectors.

A projection belongs to one engine (name and weights hash): it is fitted on that engine's templates only, holds
only theirs, and is in force only while that engine runs; with another engine the search uses the HNSW index for
that engine's vector size. An engine whose vectors are no longer than the projection's (dlib's 128-d) is not fitted.

Why (docs/benchmarks.md, custody runs): at a million face-like templates, HNSW over the full halfvec vectors finds a
probe's own images but misses the near-tied strangers in the tail of its top 10 (recall@10 0.82-0.88 at 46x faster
than exact search). Most of such templates' energy lies in few directions (72 % in 128 of 512 there), so the graph
is walked over the projections: smaller, and a denser graph in the same build time. The graph is FAISS's, in the
searching process's memory, with the projections in PostgreSQL as its record (custody_graph: pgvector's HNSW over
the same projections stopped at recall@10 0.956 at 45x). The nearest 200 by the projection, from a walk of the graph
that keeps the best 700, are re-ranked on the full vectors, so the scores shown are always exact cosines. Where the
energy does not concentrate (under MIN_ENERGY), fitting is refused.

Until `fit` has run (`manage.py custody_index fit`, once the gallery holds enough templates), the search uses the HNSW
index on the full vectors. Fitting again replaces the projection and rebuilds the graph; searches wait meanwhile.
"""

import hashlib
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.audit import services as audit
from govern import prepared

from .. import custody_graph
from ..engine import get_engine
from ..list_index import halfvec
from ..models import CustodyProjection, CustodyReduced, CustodyTemplate

DIMENSIONS = 128  # the column's type: CustodyReduced.vector is halfvec(128)
MIN_TEMPLATES = 1_000  # fewer, and the exact scan is quick and a sample says little about the gallery
# The projection helps only where the templates' energy concentrates in few directions (72 % in 128 of 512 on the
# benchmark's face-like data); on vectors spread evenly (25 %) it finds the wrong candidates, so it is refused there.
MIN_ENERGY = 0.6
CHUNK = 20_000


def _of_engine(queryset, engine):
    """The rows made by this engine (its name and weights hash)."""
    return queryset.filter(engine=engine.name, weights_sha256=engine.weights_sha256)


def current() -> tuple[CustodyProjection, np.ndarray] | None:
    """The engine in use's projection and its matrix (dimensions x the engine's size, float32), or None before its
    first fit."""
    row = _of_engine(CustodyProjection.objects, get_engine()).values_list("pk", "components_sha256").first()
    if row is None:
        return None
    return _load(*row)


_cache: dict[tuple[int, str], tuple[CustodyProjection, np.ndarray]] = {}


def _load(pk: int, sha256: str) -> tuple[CustodyProjection, np.ndarray]:
    """A projection's matrix, read once per process (a refit makes a new row, so a new key)."""
    if (pk, sha256) not in _cache:
        projection = CustodyProjection.objects.get(pk=pk)
        matrix = np.frombuffer(bytes(projection.components), dtype="<f4").reshape(projection.dimensions, -1)
        _cache.clear()
        _cache[(pk, sha256)] = (projection, matrix)
    return _cache[(pk, sha256)]


def literal(vector: np.ndarray) -> str:
    """A vector as pgvector's text form, for a query parameter."""
    return "[" + ",".join(f"{x:.6f}" for x in vector) + "]"


def halfvec_bytes(vector: np.ndarray) -> bytes:
    """A vector in halfvec's binary form (dimensions, unused, big-endian float16 values), for a binary COPY."""
    return len(vector).to_bytes(2, "big") + bytes(2) + np.asarray(vector, dtype=">f2").tobytes()


def project(vectors: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Rows projected onto the kept directions (cosine needs no rescaling: it ignores length)."""
    return np.asarray(vectors, dtype=np.float32) @ matrix.T


def add(template: CustodyTemplate, vector: np.ndarray) -> None:
    """A newly enrolled template's projection, when a projection is in force (in the enrolment's transaction)."""
    found = current()
    if found is not None:
        projection, matrix = found
        CustodyReduced.objects.create(
            template=template, projection=projection, vector=project(vector[None, :], matrix)[0].tolist()
        )


def _sample(size: int, engine) -> np.ndarray:
    """A uniform random sample of the engine's templates in the gallery, the float16 values as stored."""
    with prepared.cursor() as cursor:
        cursor.execute(
            "SELECT embedding FROM matching_custodytemplate WHERE engine = %s AND weights_sha256 = %s "
            "ORDER BY random() LIMIT %s",
            [engine.name, engine.weights_sha256, size],
            binary=True,
        )
        return np.stack([halfvec(row[0]) for row in cursor.fetchall()]).astype(np.float32)


def _fill(projection: CustodyProjection, matrix: np.ndarray) -> int:
    """Every template of the projection's engine projected, streamed from the templates and written back by binary
    COPY, a chunk at a time."""
    written = 0
    raw = connection.connection
    with connection.wrap_database_errors, raw.cursor(name="custody_templates", binary=True) as source:
        source.itersize = CHUNK
        source.execute(
            "SELECT id, embedding FROM matching_custodytemplate WHERE engine = %s AND weights_sha256 = %s",
            [projection.engine, projection.weights_sha256],
        )
        while rows := source.fetchmany(CHUNK):
            reduced = project(np.stack([halfvec(row[1]) for row in rows]), matrix)
            with (
                raw.cursor() as target,
                target.copy(
                    "COPY matching_custodyreduced (template_id, projection_id, vector) FROM STDIN (FORMAT BINARY)"
                ) as copy,
            ):
                copy.set_types(["int8", "int8", "bytea"])  # the bytes are halfvec's binary form, which the server reads
                for (template_id, _), vector in zip(rows, reduced, strict=True):
                    copy.write_row((template_id, projection.pk, halfvec_bytes(vector)))
            written += len(rows)
    return written


def fit(*, sample: int = 20_000, now=None) -> CustodyProjection:
    """Fit the projection on a random sample of the gallery, project every template and build the graph, in one
    transaction: enrolments wait (the templates are locked against writes), searches wait for the new graph."""
    now = now or timezone.now()
    engine = get_engine()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE matching_custodytemplate IN EXCLUSIVE MODE")  # reads go on, writes wait
            cursor.execute("LOCK TABLE matching_custodyreduced, matching_custodyprojection IN ACCESS EXCLUSIVE MODE")
        if engine.dimensions <= DIMENSIONS:
            raise ValidationError(
                f"The face engine {engine.name} makes {engine.dimensions}-d vectors: a projection to {DIMENSIONS} "
                "would not shorten them, so the search keeps the HNSW index on its full vectors."
            )
        templates = _of_engine(CustodyTemplate.objects, engine).count()
        if templates < MIN_TEMPLATES:
            raise ValidationError(
                f"The gallery holds {templates:,} custody templates of {engine.name}; fit the projection from "
                f"{MIN_TEMPLATES:,} on (until then the search uses the index on the full vectors)."
            )
        rows = _sample(min(sample, templates), engine)
        _, strengths, directions = np.linalg.svd(rows, full_matrices=False)
        matrix = np.ascontiguousarray(directions[:DIMENSIONS], dtype="<f4")
        energy = float((strengths[:DIMENSIONS] ** 2).sum() / (strengths**2).sum())
        if energy < MIN_ENERGY:
            raise ValidationError(
                f"The gallery's first {DIMENSIONS} directions hold {energy:.0%} of its templates' energy, under "
                f"{MIN_ENERGY:.0%}: a projection would miss candidates, so the search keeps the full vectors' index."
            )
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE matching_custodyreduced, matching_custodyprojection")
        projection = CustodyProjection.objects.create(
            dimensions=DIMENSIONS,
            components=matrix.tobytes(),
            components_sha256=hashlib.sha256(matrix.tobytes()).hexdigest(),
            sample_size=len(rows),
            energy_kept=energy,
            engine=engine.name,
            weights_sha256=engine.weights_sha256,
            fitted_at=now,
        )
        projected = _fill(projection, matrix)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check the copied rows' keys now, before the graph is
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # built and while nothing else is pending; defer again
            cursor.execute("ANALYZE matching_custodyreduced")
        graph = custody_graph.build(projection.pk, projection.components_sha256)
        transaction.on_commit(lambda: custody_graph.remove_files_except(*graph.projection))
        audit.record(
            "custody_projection.fitted",
            projection,
            None,
            data={
                "dimensions": DIMENSIONS,
                "sample": len(rows),
                "energy_kept": round(energy, 6),
                "templates": projected,
                "components_sha256": projection.components_sha256,
                "engine": engine.name,
                "weights_sha256": engine.weights_sha256,
            },
        )
    return projection


@dataclass
class Search:
    """The fitted search for one search request: the projection's matrix and its graph, synced with the record."""

    matrix: np.ndarray
    graph: custody_graph.Graph
    projection: CustodyProjection

    def candidates(self, cursor, vector: np.ndarray, limit: int, reranked: int, width: int) -> list[tuple]:
        """The `limit` nearest templates by exact cosine among the `reranked` nearest by the projection (from a walk
        of the graph `width` wide): (image id, subject id, score), best first. The candidates are fetched by id
        before they are ordered (MATERIALIZED), so no index on the full vectors can reorder and filter them."""
        near = self.graph.search(project(vector[None, :], self.matrix)[0], reranked, width)
        full = literal(vector)
        cursor.execute(
            "WITH near AS MATERIALIZED ("
            "  SELECT image_id, subject_id, embedding FROM matching_custodytemplate WHERE id = ANY(%s) "
            "  AND engine = %s AND weights_sha256 = %s"
            ") SELECT image_id, subject_id, 1 - (embedding <=> %s::halfvec) AS score FROM near "
            "ORDER BY embedding <=> %s::halfvec LIMIT %s",
            [near.tolist(), self.projection.engine, self.projection.weights_sha256, full, full, limit],
        )
        return cursor.fetchall()


def searcher() -> Search | None:
    """The fitted search, its graph brought up to date with the record (once per search request), or None before
    the first fit."""
    for _ in range(3):
        found = current()
        if found is None:
            return None
        projection, matrix = found
        try:
            graph = custody_graph.for_projection(projection.pk, projection.components_sha256)
            return Search(matrix, graph, projection)
        except custody_graph.Superseded:
            continue  # a refit committed while this looked: take the new projection
    raise custody_graph.Superseded("the custody projection kept changing; try the search again")
