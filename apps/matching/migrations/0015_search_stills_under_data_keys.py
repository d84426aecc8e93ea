"""Existing retrospective stills re-encrypted under a data key per search (crypto-shredding, docs/security.md).

Each search still holding stills gets one key, as a new search does; each key's file is written to the key store
(DATA_KEY_DIR) before its row: if the migration fails, the files whose rows were rolled back are orphans, which
`manage.py sweep_data_keys` removes. A still already under a data key is left as it is; a search whose stills were
deleted (closed) holds none and gets no key.

Reversible: backwards, each still whose key is still live goes back under the ring's current key, the live keys'
rows are deleted and, once that commits, their files. A destroyed key stays destroyed.
"""

from django.db import migrations, transaction

from govern import data_key_files, encryption

OWNER = "search-stills"


def _bound_to(probe) -> bytes:
    # What Probe.associated_data() binds a still to (a historical model has no methods).
    return f"search-probe:{probe.request_id}:{probe.sha256}".encode()


def under_data_keys(apps, schema_editor):
    Probe = apps.get_model("matching", "Probe")
    DataKey = apps.get_model("audit", "DataKey")
    held = Probe.objects.exclude(ciphertext=None).order_by("request_id", "position")
    keys = {}  # search id -> (key id, material), made on the search's first still still under the ring key
    for probe in held.iterator():
        blob = bytes(probe.ciphertext)
        if encryption.data_key_id(blob) is not None:
            continue
        content = encryption.decrypt(blob, associated_data=_bound_to(probe))
        if probe.request_id not in keys:
            live = DataKey.objects.filter(owner_kind=OWNER, owner_id=probe.request_id, destroyed_at=None).first()
            if live is not None:  # some of the search's stills were under its key already: the rest join them
                keys[probe.request_id] = live.pk, data_key_files.read(live.pk)
            else:
                key_id, material = encryption.new_data_key()
                data_key_files.create(key_id, material)
                DataKey.objects.create(pk=key_id, owner_kind=OWNER, owner_id=probe.request_id)
                keys[probe.request_id] = key_id, material
        key_id, material = keys[probe.request_id]
        probe.ciphertext = encryption.encrypt_under(key_id, material, content, associated_data=_bound_to(probe))
        probe.save(update_fields=["ciphertext"])


def under_ring_key(apps, schema_editor):
    Probe = apps.get_model("matching", "Probe")
    DataKey = apps.get_model("audit", "DataKey")
    live = DataKey.objects.filter(owner_kind=OWNER, destroyed_at=None)
    for key in live:
        material = data_key_files.read(key.pk)
        for probe in Probe.objects.filter(request_id=key.owner_id).exclude(ciphertext=None):
            blob = bytes(probe.ciphertext)
            if encryption.data_key_id(blob) != key.pk:
                continue
            content = encryption.decrypt_with_data_key(material, blob, _bound_to(probe))
            probe.ciphertext = encryption.encrypt(content, associated_data=_bound_to(probe))
            probe.save(update_fields=["ciphertext"])
    for key_id in live.values_list("pk", flat=True):
        transaction.on_commit(lambda key_id=key_id: data_key_files.shred(key_id), robust=True)
    live.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("matching", "0014_agent_tracks"),
        ("audit", "0009_search_stills_key_owner"),
    ]

    operations = [migrations.RunPython(under_data_keys, under_ring_key)]
