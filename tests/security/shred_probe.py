"""Run inside a Govern process on a throwaway cluster; print what happened, as JSON (test_crypto_shredding_backup).

`python -m tests.security.shred_probe store|destroy|read IMAGE_ID`: store a subject's custody image under its data
key; destroy the subject's key; or try to read an image with the key ring this process is given.
`python -m tests.security.shred_probe search|close|read-still SEARCH_ID`: submit a retrospective search of one still
(under the search's data key), as an officer does; close it; or try to read its still.
"""

import datetime
import json
import sys


def _store() -> dict:
    from django.contrib.auth import get_user_model

    from apps.watchlists.choices import LegalBasis
    from apps.watchlists.models import CustodyImage, Subject
    from apps.watchlists.services import image_keys
    from govern import uploads
    from tests.watchlist_fixtures import make_jpeg

    compiler = get_user_model().objects.create(username="compiler")
    subject = Subject.objects.create(
        family_name="Example", given_names="Adam", date_of_birth=datetime.date(1990, 5, 17), created_by=compiler
    )
    checked = uploads.validate_image(make_jpeg(seed=26))
    image = CustodyImage(
        subject=subject,
        captured_on=datetime.date(2026, 3, 1),
        source_system="Custody suite A",
        legal_basis=LegalBasis.PACE_CUSTODY,
        uploaded_by=compiler,
        content_type=checked.content_type,
        width=checked.width,
        height=checked.height,
        size_bytes=len(checked.content),
        sha256=checked.sha256,
    )
    image_keys.seal(image, checked.content)
    image.save()
    return {"image": image.pk, "key": image.key_id, "sha256": checked.sha256}


def _destroy(image_id: int) -> dict:
    from apps.watchlists.models import CustodyImage
    from apps.watchlists.services import image_keys

    return {"destroyed": image_keys.destroy_subject_key(CustodyImage.objects.get(pk=image_id).subject)}


def _read(image_id: int) -> dict:
    import hashlib

    from apps.watchlists.models import CustodyImage
    from govern import encryption

    image = CustodyImage.objects.get(pk=image_id)
    try:
        content = encryption.decrypt(bytes(image.ciphertext), associated_data=image.associated_data())
    except encryption.ImageDecryptionError as exc:
        return {"readable": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"readable": True, "sha256": hashlib.sha256(content).hexdigest()}


def _search() -> dict:
    from apps.accounts.services import accounts
    from apps.matching.models import Probe
    from apps.matching.services import retrospective
    from govern import encryption
    from govern.roles import Rank, Role
    from tests.watchlist_fixtures import make_jpeg

    officer = accounts.create_user(None, "officer", "x" * 20, roles=[Role.OFFICER], rank=Rank.CONSTABLE, force="Test")
    request = retrospective.submit(officer, [make_jpeg(seed=27)], incident_reference="CAD 1/8DEC", crime_type="Theft")
    probe = Probe.objects.get(request=request)
    return {"search": request.pk, "key": encryption.data_key_id(bytes(probe.ciphertext)), "sha256": probe.sha256}


def _close(search_id: int) -> dict:
    from apps.accounts.models import User
    from apps.audit.models import Event
    from apps.matching.models import SearchRequest
    from apps.matching.services import retrospective

    officer = User.objects.get(username="officer")
    retrospective.close(officer, SearchRequest.objects.get(pk=search_id), reason="Case closed: charged")
    return {"destroyed": Event.objects.get(action="search.closed", target_id=str(search_id)).data["data_key"]}


def _read_still(search_id: int) -> dict:
    import hashlib

    from apps.matching.models import Probe
    from govern import encryption

    probe = Probe.objects.get(request_id=search_id)
    if probe.ciphertext is None:
        return {"readable": False, "error": "deleted"}
    try:
        content = encryption.decrypt(bytes(probe.ciphertext), associated_data=probe.associated_data())
    except encryption.ImageDecryptionError as exc:
        return {"readable": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"readable": True, "sha256": hashlib.sha256(content).hexdigest()}


def main(argv: list[str]) -> None:
    import django

    django.setup()
    action, *rest = argv
    actions = {"store": _store, "destroy": _destroy, "read": _read}
    actions |= {"search": _search, "close": _close, "read-still": _read_still}
    found = actions[action](*(int(value) for value in rest))
    print(json.dumps(found))


if __name__ == "__main__":
    main(sys.argv[1:])
