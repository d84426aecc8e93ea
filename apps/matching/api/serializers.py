"""Serializers of the alerts API (never the probe's bytes: those come with a reason)."""

import math

from django.conf import settings
from rest_framework import serializers

from ..choices import AgeBand, EthnicGroup, IdentityCheck, Outcome, PerceivedSex
from ..models import Alert, Capture, Probe, SearchRequest
from ..services.alert_handling import MAX_STOP_MINUTES


class AlertSerializer(serializers.ModelSerializer):
    """An alert and its judgement."""

    subject_name = serializers.CharField(source="subject.__str__", read_only=True)
    # Blank until an outcome is recorded; the schema's enum must allow that.
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True, read_only=True)
    identity_check = serializers.ChoiceField(choices=IdentityCheck.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "deployment",
            "capture",
            "subject",
            "subject_name",
            "entry",
            "score",
            "threshold",
            "candidates",
            "engine",
            "weights_sha256",
            "watchlist_hash",
            "created_at",
            "state",
            "adjudicated_by",
            "adjudicated_at",
            "adjudication_reason",
            "engaged_by",
            "engaged_at",
            "outcome",
            "outcome_note",
            "perceived_sex",
            "perceived_age",
            "perceived_ethnicity",
            "identity_check",
            "stop_minutes",
            "complaint_reference",
            "faces",
            "frames",
            "first_seen",
            "last_seen",
            "received_at",
            "late",
            "sightings",
        ]
        read_only_fields = fields

    received_at = serializers.DateTimeField(source="created_at", read_only=True, help_text="When Govern received it.")
    late = serializers.SerializerMethodField(
        help_text="Seconds after the person was last seen that the alert came, "
        "when it came late (a capture agent's link dropped); null when in time."
    )
    sightings = serializers.SerializerMethodField(help_text="Later tracks of the subject attached to this alert.")

    def get_late(self, alert) -> float | None:
        late = alert.late_by
        return None if late is None else late.total_seconds()

    def get_sightings(self, alert) -> list[dict]:
        return [
            {
                "first_seen": sighting.first_seen,
                "last_seen": sighting.last_seen,
                "faces": sighting.faces,
                "frames": sighting.frames,
                "score": sighting.score,
            }
            for sighting in alert.sightings.all()  # prefetched by the list
        ]


class CaptureSerializer(serializers.ModelSerializer):
    """One frame's record: what became of its faces, counted; never an image, a crop or a template."""

    asset = serializers.SlugRelatedField(slug_field="identifier", read_only=True, help_text="The van or camera.")

    class Meta:
        model = Capture
        fields = ["id", "deployment", "asset", "received_at", "faces", "alerts", "receipts", "tracks"]
        read_only_fields = fields


class PersonSerializer(serializers.Serializer):
    """What the officer perceived of the person the alert concerned (each optional; left out: kept as recorded)."""

    perceived_sex = serializers.ChoiceField(choices=PerceivedSex.choices, required=False)
    perceived_age = serializers.ChoiceField(choices=AgeBand.choices, required=False)
    perceived_ethnicity = serializers.ChoiceField(choices=EthnicGroup.choices, required=False)


class JudgementSerializer(PersonSerializer):
    """An officer's judgement."""

    match = serializers.BooleanField()
    reason = serializers.CharField(max_length=2000)


class AlertOutcomeSerializer(PersonSerializer):
    """The stop record: how identity was checked, how long the stop lasted, what followed, any complaint."""

    outcome = serializers.ChoiceField(choices=Outcome.recordable())
    identity_check = serializers.ChoiceField(choices=IdentityCheck.choices)
    stop_minutes = serializers.IntegerField(min_value=0, max_value=MAX_STOP_MINUTES)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    complaint_reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class ComplaintSerializer(serializers.Serializer):
    """A complaint made about a stop."""

    complaint_reference = serializers.CharField(max_length=100)


class SearchStatusSerializer(serializers.ModelSerializer):
    """A search's status: what a retail partner may see (no candidates, no identities)."""

    refused = serializers.SerializerMethodField()

    class Meta:
        model = SearchRequest
        fields = [
            "id",
            "reference",
            "incident_reference",
            "crime_type",
            "sharing_agreement",
            "state",
            "total",
            "processed",
            "refused",
            "submitted_at",
            "closed_at",
        ]
        read_only_fields = fields

    def get_refused(self, request) -> list[dict]:
        # A refused still keeps its refusal after the case closes and it shows as deleted.
        return [
            {"position": p.position, "reason": p.refusal}
            for p in sorted(request.probes.all(), key=lambda p: p.position)
            if p.refusal
        ]


class SearchSubmitSerializer(serializers.Serializer):
    """A new search: one or more stills (multipart `stills`), the incident and, for retail, the agreement."""

    incident_reference = serializers.CharField(max_length=100)
    crime_type = serializers.CharField(max_length=100)
    sharing_agreement = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class SearchUploadSerializer(SearchSubmitSerializer):
    """The multipart body of a new search as the schema documents it: the fields and the stills."""

    stills = serializers.ListField(
        child=serializers.FileField(), help_text="One file per still: JPEG, PNG or WebP, one face in each."
    )


class CloseSerializer(serializers.Serializer):
    """Why the case is closed (logged with the deletion of its stills)."""

    reason = serializers.CharField(max_length=2000)


class ReenrolSerializer(serializers.Serializer):
    """Why the list is enrolled again on the engine in use (logged)."""

    reason = serializers.CharField(max_length=2000)


class ReenrolResultSerializer(serializers.Serializer):
    """What re-enrolment made."""

    watchlist = serializers.IntegerField()
    approved_hash = serializers.CharField()
    templates = serializers.IntegerField(help_text="Templates made by the engine in use, one per entry.")


class CropsUploadSerializer(serializers.Serializer):
    """Faces a van detected itself: one `crop` file per face (JPEG, PNG or WebP), up to 64."""

    crop = serializers.ListField(child=serializers.FileField(), min_length=1, max_length=64)


class FrameUploadSerializer(serializers.Serializer):
    """A frame sent as a multipart file instead of the body itself."""

    frame = serializers.FileField(help_text="A JPEG, PNG or WebP frame.")


class AgentEngineSerializer(serializers.Serializer):
    """The engine an agent must run: its own name and weights must be these."""

    name = serializers.CharField()
    weights_sha256 = serializers.CharField()
    dimensions = serializers.IntegerField()


class AgentTemplateSerializer(serializers.Serializer):
    """One template: its entry and its vector (base64 of little-endian float32); no name, no subject."""

    entry = serializers.IntegerField()
    vector = serializers.CharField()


class AgentSessionSerializer(serializers.Serializer):
    """What a capture agent matches with while its deployment is live."""

    deployment = serializers.IntegerField()
    reference = serializers.CharField()
    watchlist_hash = serializers.CharField()
    threshold = serializers.CharField()
    engine = AgentEngineSerializer()
    generation = serializers.IntegerField()
    templates = AgentTemplateSerializer(many=True)
    poll_seconds = serializers.IntegerField()
    alert_window_seconds = serializers.IntegerField()


class AgentStatusSerializer(serializers.Serializer):
    """Whether the agent may capture now; on `live: false` it stops and drops its templates."""

    live = serializers.BooleanField()
    state = serializers.CharField()
    generation = serializers.IntegerField(required=False)
    reason = serializers.CharField(required=False)
    stopped_at = serializers.DateTimeField(
        required=False, help_text="When the live window closed: tracks are cut there (absent if it never was live)."
    )


class AgentBatchRefusedSerializer(serializers.Serializer):
    """A batch refused (nothing recorded): why, and the tracks at fault when only some were (the agent sends the
    others again under a new batch id)."""

    detail = serializers.CharField()
    tracks = serializers.ListField(
        child=serializers.UUIDField(), required=False, help_text="The tracks refused, when the rest were not at fault."
    )


class AgentCandidateSerializer(serializers.Serializer):
    entry = serializers.IntegerField()
    score = serializers.FloatField()


HEX64 = r"^[0-9a-f]{64}$"


class AgentTrackSerializer(serializers.Serializer):
    """One person passing, as the agent decided it."""

    track = serializers.UUIDField(format="hex_verbose")
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    frames = serializers.IntegerField(min_value=1, max_value=1_000_000)
    faces = serializers.IntegerField(min_value=1, max_value=1_000_000)
    best_score = serializers.FloatField(min_value=-1.0, max_value=1.0)
    decision = serializers.ChoiceField(choices=["alert", "receipt"])
    commitment = serializers.RegexField(HEX64)
    entry = serializers.IntegerField(required=False, min_value=1)
    candidates = AgentCandidateSerializer(many=True, required=False, max_length=100)
    crop = serializers.CharField(required=False, max_length=2_000_000)

    def validate(self, attrs):
        if attrs["faces"] > attrs["frames"]:
            raise serializers.ValidationError("A track holds at most one face a frame: faces <= frames.")
        if attrs["first_seen"] > attrs["last_seen"]:
            raise serializers.ValidationError("first_seen comes before last_seen.")
        seconds = (attrs["last_seen"] - attrs["first_seen"]).total_seconds()
        most = math.ceil(seconds * settings.AGENT_MAX_FPS) + 1
        if attrs["frames"] > most:
            raise serializers.ValidationError(
                f"A track seen for {seconds:.1f} s spans at most {most} frames at {settings.AGENT_MAX_FPS} frames a "
                f"second, not {attrs['frames']}."
            )
        if attrs["decision"] == "alert" and not (attrs.get("entry") and attrs.get("crop")):
            raise serializers.ValidationError("An alert names its entry and carries its best crop.")
        if attrs["decision"] == "receipt" and (attrs.get("crop") or attrs.get("entry")):
            raise serializers.ValidationError("A receipt carries no crop and names no entry: nothing of it leaves.")
        return attrs


class AgentBatchSerializer(serializers.Serializer):
    """A batch of tracks, recorded whole or not at all; its id is the idempotency key."""

    batch = serializers.UUIDField(format="hex_verbose")
    tracks = AgentTrackSerializer(many=True, allow_empty=False, max_length=256)

    def validate_tracks(self, tracks):
        if len({str(track["track"]) for track in tracks}) != len(tracks):
            raise serializers.ValidationError("Each track is sent once in a batch.")
        return tracks


class AgentBatchResultSerializer(serializers.Serializer):
    """What became of a batch: alerts raised, alerts a track was attached to, receipts, faces; a resend says so."""

    batch = serializers.UUIDField()
    tracks = serializers.IntegerField()
    alerts = serializers.ListField(child=serializers.IntegerField())
    attached = serializers.ListField(child=serializers.IntegerField())
    receipts = serializers.IntegerField()
    faces = serializers.IntegerField()
    duplicate = serializers.BooleanField()


class CaptureResultSerializer(serializers.Serializer):
    """What became of a frame's faces: the capture, how many faces, the alerts raised, the deletion receipts."""

    capture = serializers.UUIDField()
    faces = serializers.IntegerField()
    alerts = serializers.ListField(child=serializers.IntegerField())
    receipts = serializers.IntegerField()


class ProbeSerializer(serializers.ModelSerializer):
    """A still's candidates and their review (for officers)."""

    class Meta:
        model = Probe
        fields = [
            "id",
            "position",
            "state",
            "refusal",
            "candidates",
            "engine",
            "weights_sha256",
            "chosen_subject",
            "operator",
            "operator_note",
            "confirmed_by",
            "corroboration",
        ]
        read_only_fields = fields


class ChoiceSerializer(serializers.Serializer):
    """The operator's choice: a candidate subject, or none."""

    subject = serializers.IntegerField(allow_null=True)
    note = serializers.CharField(max_length=2000)


class ConfirmSerializer(serializers.Serializer):
    """The investigating officer's corroboration."""

    corroboration = serializers.CharField(max_length=4000)
