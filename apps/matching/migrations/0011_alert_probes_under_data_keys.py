"""Existing alert probes re-encrypted each under a data key of its own (crypto-shredding, docs/security.md).

Each key's file is written to the key store (DATA_KEY_DIR) before its row: if the migration fails, the files whose
rows were rolled back are orphans, which `manage.py sweep_data_keys` removes.

Reversible: backwards, each probe whose key is still live goes back under the ring's current key, the live keys'
rows are deleted and, once that commits, their files. A probe deleted under retention is empty already, and its
destroyed key stays destroyed.
"""

from django.db import migrations, transaction

from govern import data_key_files, encryption


def _bound_to(alert) -> bytes:
    # What Alert.associated_data() binds a probe to (a historical model has no methods).
    return f"alert-probe:{alert.capture_id}:{alert.probe_sha256}".encode()


def under_data_keys(apps, schema_editor):
    Alert = apps.get_model("matching", "Alert")
    DataKey = apps.get_model("audit", "DataKey")
    for alert in Alert.objects.exclude(probe_ciphertext=b"").order_by("pk").iterator():
        blob = bytes(alert.probe_ciphertext)
        if encryption.data_key_id(blob) is not None:
            continue
        content = encryption.decrypt(blob, associated_data=_bound_to(alert))
        key_id, material = encryption.new_data_key()
        data_key_files.create(key_id, material)
        DataKey.objects.create(pk=key_id, owner_kind="alert-probe", owner_id=alert.pk)
        alert.probe_ciphertext = encryption.encrypt_under(key_id, material, content, associated_data=_bound_to(alert))
        alert.save(update_fields=["probe_ciphertext"])


def under_ring_key(apps, schema_editor):
    Alert = apps.get_model("matching", "Alert")
    DataKey = apps.get_model("audit", "DataKey")
    live = DataKey.objects.filter(owner_kind="alert-probe", destroyed_at=None)
    for key in live:
        alert = Alert.objects.filter(pk=key.owner_id).first()
        blob = bytes(alert.probe_ciphertext) if alert else b""
        if encryption.data_key_id(blob) != key.pk:
            continue
        material = data_key_files.read(key.pk)
        content = encryption.decrypt_with_data_key(material, blob, _bound_to(alert))
        alert.probe_ciphertext = encryption.encrypt(content, associated_data=_bound_to(alert))
        alert.save(update_fields=["probe_ciphertext"])
    for key_id in live.values_list("pk", flat=True):
        transaction.on_commit(lambda key_id=key_id: data_key_files.shred(key_id), robust=True)
    live.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("matching", "0010_template_generation"),
        ("audit", "0006_data_keys"),
    ]

    operations = [migrations.RunPython(under_data_keys, under_ring_key)]
