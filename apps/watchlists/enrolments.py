"""Which engines an approved version is enrolled on, beside the engine in use, as matching reports it: the list's
page, the deployment's page and the API show it, so a list left unenrolled by an engine switch is seen (and
re-enrolled) before go-live refuses it.

Watchlists never imports matching: matching registers its reader from its AppConfig.ready().
"""

READERS: list = []


def register_enrolment_reader(reader):
    """Read a version's standing with `reader(watchlist, approved_hash) -> dict` (engine_in_use, weights_in_use,
    on_engine_in_use, engines: [{engine, weights_sha256, templates, complete, in_use}])."""
    if reader not in READERS:
        READERS.append(reader)
    return reader


def enrolment_of(watchlist, approved_hash: str) -> dict | None:
    """The version's enrolments against the engine in use, or None (no approved version, or no reader)."""
    if watchlist is None or not approved_hash or not READERS:
        return None
    return READERS[0](watchlist, approved_hash)
