"""Existing alert probes re-encrypted each under a data key of its own (crypto-shredding, docs/security.md).

Reversible: backwards, each probe whose key is still live goes back under the ring's current key and the live keys
are deleted. A probe deleted under retention is empty already, and its destroyed key stays destroyed.
"""

from django.db import migrations

from govern import encryption


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
        DataKey.objects.create(
            pk=key_id, key_ciphertext=encryption.wrap(key_id, material), owner_kind="alert-probe", owner_id=alert.pk
        )
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
        material = encryption.unwrap(key.pk, bytes(key.key_ciphertext))
        content = encryption.decrypt_with_data_key(material, blob, _bound_to(alert))
        alert.probe_ciphertext = encryption.encrypt(content, associated_data=_bound_to(alert))
        alert.save(update_fields=["probe_ciphertext"])
    live.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("matching", "0009_engine_dimensions"),
        ("audit", "0005_data_keys"),
    ]

    operations = [migrations.RunPython(under_data_keys, under_ring_key)]
