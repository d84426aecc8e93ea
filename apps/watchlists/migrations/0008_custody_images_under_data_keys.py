"""Existing custody images re-encrypted under their subject's data key (crypto-shredding, docs/security.md).

Reversible: backwards, each image whose subject's key is still live goes back under the ring's current key and the
live keys are deleted. An image whose key was destroyed stays as it is: it was deleted, and nothing can read it.
"""

from django.db import migrations

from govern import encryption


def _bound_to(image) -> bytes:
    # What CustodyImage.associated_data() binds an image to (a historical model has no methods).
    return f"custody-image:{image.subject_id}:{image.sha256}".encode()


def under_data_keys(apps, schema_editor):
    CustodyImage = apps.get_model("watchlists", "CustodyImage")
    DataKey = apps.get_model("audit", "DataKey")
    keys = {}
    for image in CustodyImage.objects.order_by("pk").iterator():
        blob = bytes(image.ciphertext)
        if encryption.data_key_id(blob) is not None:
            continue
        content = encryption.decrypt(blob, associated_data=_bound_to(image))
        if image.subject_id not in keys:
            key_id, material = encryption.new_data_key()
            DataKey.objects.create(
                pk=key_id,
                key_ciphertext=encryption.wrap(key_id, material),
                owner_kind="subject-images",
                owner_id=image.subject_id,
            )
            keys[image.subject_id] = key_id, material
        key_id, material = keys[image.subject_id]
        image.key_id = key_id
        image.ciphertext = encryption.encrypt_under(key_id, material, content, associated_data=_bound_to(image))
        image.save(update_fields=["key_id", "ciphertext"])


def under_ring_key(apps, schema_editor):
    CustodyImage = apps.get_model("watchlists", "CustodyImage")
    DataKey = apps.get_model("audit", "DataKey")
    live = DataKey.objects.filter(owner_kind="subject-images", destroyed_at=None)
    keys = {key.pk: encryption.unwrap(key.pk, bytes(key.key_ciphertext)) for key in live}
    for image in CustodyImage.objects.order_by("pk").iterator():
        blob = bytes(image.ciphertext)
        material = keys.get(encryption.data_key_id(blob))
        if material is None:
            continue
        content = encryption.decrypt_with_data_key(material, blob, _bound_to(image))
        image.key_id = encryption.key_id()
        image.ciphertext = encryption.encrypt(content, associated_data=_bound_to(image))
        image.save(update_fields=["key_id", "ciphertext"])
    live.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("watchlists", "0007_subject_restriction"),
        ("audit", "0005_data_keys"),
    ]

    operations = [migrations.RunPython(under_data_keys, under_ring_key)]
