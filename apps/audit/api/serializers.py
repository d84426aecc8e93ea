"""Serializers of the audit log API: hashes as lower-case hex, signatures as base64."""

import base64

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import registry
from ..models import Checkpoint, Event


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


class CheckpointSerializer(serializers.ModelSerializer):
    """A signed checkpoint: what a verifier checks with the public key."""

    root_hash = HexField(read_only=True)
    signature = Base64Field(read_only=True)

    class Meta:
        model = Checkpoint
        fields = ["tree_size", "root_hash", "timestamp", "signature", "key_id"]


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
    checkpoint_format = serializers.CharField()
