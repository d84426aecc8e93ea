"""Serializers of the audit log API: hashes as lower-case hex, signatures as base64."""

import base64

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import registry, services, signing, witnessing
from ..models import Checkpoint, Cosignature, Event


class HexField(serializers.Field):
    """Bytes shown as lower-case hex."""

    def to_representation(self, value):
        return bytes(value).hex()


@extend_schema_field({"type": "string", "format": "byte"})
class Base64Field(serializers.Field):
    """Bytes shown as base64."""

    def to_representation(self, value):
        return base64.b64encode(bytes(value)).decode()


class EventSerializer(serializers.ModelSerializer):
    """One audit event with the canonical text a verifier hashes."""

    action_label = serializers.SerializerMethodField()
    data = serializers.JSONField(read_only=True)
    leaf_hash = HexField(read_only=True)

    class Meta:
        model = Event
        fields = [
            "seq", "created_at", "actor", "actor_username", "request_id", "action", "action_label",
            "target_type", "target_id", "reason", "data", "canonical", "leaf_hash",
        ]  # fmt: skip

    def get_action_label(self, event) -> str:
        try:
            return registry.get(event.action).label
        except registry.UnknownAction:
            return event.action


class CosignatureSerializer(serializers.ModelSerializer):
    """A witness's cosignature of the checkpoint (c2sp.org/tlog-cosignature), as the line it sent."""

    class Meta:
        model = Cosignature
        fields = ["witness", "key_hash", "cosigned_at", "line"]


class CheckpointSerializer(serializers.ModelSerializer):
    """A signed checkpoint: what a verifier checks with the public key. `note` is the C2SP signed note as published,
    followed by the cosignature lines of the witnesses that cosigned it (null for a checkpoint of the first format,
    whose signature also covers `timestamp`)."""

    root_hash = HexField(read_only=True)
    signature = Base64Field(read_only=True)
    note = serializers.SerializerMethodField()
    cosignatures = CosignatureSerializer(many=True, read_only=True)

    class Meta:
        model = Checkpoint
        fields = ["tree_size", "root_hash", "timestamp", "signature", "key_id", "origin", "note", "cosignatures"]

    def get_note(self, checkpoint) -> str | None:
        keys = self.context.setdefault("signing_keys", {})  # the key history, read once per response
        if checkpoint.key_id not in keys:
            keys[checkpoint.key_id] = signing.public_key_for(checkpoint.key_id)
        if keys[checkpoint.key_id] is None:
            return None
        return witnessing.cosigned_note(checkpoint, services.checkpoint_note(checkpoint, keys[checkpoint.key_id]))


class InclusionProofSerializer(serializers.Serializer):
    """RFC 6962 inclusion proof of one event."""

    leaf_index = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    leaf_hash = HexField()
    audit_path = serializers.ListField(child=HexField())
    root_hash = HexField()


class ConsistencyProofSerializer(serializers.Serializer):
    """RFC 6962 consistency proof between two tree sizes."""

    first = serializers.IntegerField()
    second = serializers.IntegerField()
    first_root = HexField()
    second_root = HexField()
    proof = serializers.ListField(child=HexField())


class ProofQuerySerializer(serializers.Serializer):
    """?tree_size= for an inclusion proof."""

    tree_size = serializers.IntegerField(min_value=1, required=False)


class ConsistencyQuerySerializer(serializers.Serializer):
    """?first=&second= for a consistency proof."""

    first = serializers.IntegerField(min_value=0)
    second = serializers.IntegerField(min_value=0)


class PublicKeySerializer(serializers.Serializer):
    """The checkpoint signing key."""

    algorithm = serializers.CharField()
    key_id = serializers.CharField()
    public_key_pem = serializers.CharField()
    public_key_raw = serializers.CharField(help_text="The 32-byte key, hex.")
    origin = serializers.CharField(help_text="The log's name: the first line of its checkpoints, and their key name.")
    verifier_key = serializers.CharField(
        help_text="The key as c2sp.org/signed-note writes it: `<origin>+<hex key hash>+<base64(0x01 || key)>`."
    )
    checkpoint_format = serializers.CharField()
