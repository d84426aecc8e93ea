"""Existing custody images re-encrypted under their subject's data key (crypto-shredding, docs/security.md).

Each key's file is written to the key store (DATA_KEY_DIR) before its row: if the migration fails, the files whose
rows were rolled back are orphans, which `manage.py sweep_data_keys` removes.

Reversible: backwards, each image whose subject's key is still live goes back under the ring's current key, the
live keys' rows are deleted and, once that commits, their files. An image whose key was destroyed stays as it is.
"""

from django.db import migrations, transaction

from govern import data_key_files, encryption


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
            data_key_files.create(key_id, material)
            DataKey.objects.create(pk=key_id, owner_kind="subject-images", owner_id=image.subject_id)
            keys[image.subject_id] = key_id, material
        key_id, material = keys[image.subject_id]
        image.key_id = key_id
        image.ciphertext = encryption.encrypt_under(key_id, material, content, associated_data=_bound_to(image))
        image.save(update_fields=["key_id", "ciphertext"])


def under_ring_key(apps, schema_editor):
    CustodyImage = apps.get_model("watchlists", "CustodyImage")
    DataKey = apps.get_model("audit", "DataKey")
    live = DataKey.objects.filter(owner_kind="subject-images", destroyed_at=None)
    keys = {key.pk: data_key_files.read(key.pk) for key in live}
    for image in CustodyImage.objects.order_by("pk").iterator():
        blob = bytes(image.ciphertext)
        material = keys.get(encryption.data_key_id(blob))
        if material is None:
            continue
        content = encryption.decrypt_with_data_key(material, blob, _bound_to(image))
        image.key_id = encryption.key_id()
        image.ciphertext = encryption.encrypt(content, associated_data=_bound_to(image))
        image.save(update_fields=["key_id", "ciphertext"])
    for key_id in keys:
        transaction.on_commit(lambda key_id=key_id: data_key_files.shred(key_id), robust=True)
    live.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("watchlists", "0007_subject_restriction"),
        ("audit", "0006_data_keys"),
    ]

    operations = [migrations.RunPython(under_data_keys, under_ring_key)]
