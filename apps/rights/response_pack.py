"""An access request's response pack: a zip of CSV files and the person's own images, with a README that says what
each file is and what was withheld.

What is held: the person's record and where it came from (who created it and when), their custody images (source
system, legal basis, the images themselves), the watchlists they were put on (category, offence, justification),
the alerts on them, the restrictions of their processing, and who consulted or disclosed any of it, when and why
(the access log). Other people are redacted: another subject's name, where it appears in a free text (a
justification, a reason for a read), becomes "[another person]". Officers' names stay: DOMAIN.md sets no rule that
withholds them, and the reads are their official acts.
"""

import csv
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field

from django.db.models.functions import Lower

from apps.audit import registry
from apps.matching.models import Alert
from apps.oversight import access_review
from apps.watchlists.models import CustodyImage, Entry, Subject, SubjectRestriction
from govern import encryption, spreadsheet

from .models import RightsRequest

REDACTED = "[another person]"
IMAGE_SUFFIX = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
WORD = re.compile(r"[^\W\d_][\w'-]+")


@dataclass
class Pack:
    """The zip's bytes, and each file's SHA-256 (what the disclosure's log entry commits to)."""

    content: bytes = b""
    digests: dict[str, str] = field(default_factory=dict)
    redactions: int = 0

    @property
    def sha256(self) -> str:
        """The SHA-256 of the zip as handed over."""
        return hashlib.sha256(self.content).hexdigest()


class Redactor:
    """Replaces other subjects' names in free text: the names found are those of subjects (not this one) whose
    family name is a word of the texts, read in one query."""

    def __init__(self, subject: Subject, texts: list[str]):
        words = {word.lower() for text in texts for word in WORD.findall(text or "")}
        others = (
            Subject.objects.annotate(family=Lower("family_name"))
            .filter(family__in=words)
            .exclude(pk=subject.pk)
            .values_list("given_names", "family_name")
            if words
            else []
        )
        names = sorted(
            {f"{given} {family}" for given, family in others} | {family for _given, family in others},
            key=len,
            reverse=True,
        )
        own = {subject.family_name.lower(), f"{subject.given_names} {subject.family_name}".lower()}
        names = [name for name in names if name.lower() not in own]
        self.pattern = (
            re.compile(r"\b(" + "|".join(re.escape(name) for name in names) + r")\b", re.I) if names else None
        )
        self.count = 0

    def __call__(self, text: str) -> str:
        """The text with other people's names replaced."""
        if not text or self.pattern is None:
            return text or ""
        redacted, found = self.pattern.subn(REDACTED, text)
        self.count += found
        return redacted


def _csv(header: list[str], rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet.safe_cell(value) for value in row])
    return out.getvalue().encode("utf-8")


def _readme(request: RightsRequest, redactions: int, files: list[str]) -> bytes:
    lines = [
        f"Response to data-subject access request {request.reference} (Data Protection Act 2018, s.45).",
        "",
        "Files:",
        "  record.csv        your record: name, date of birth, PNC ID, and who created it and when",
        "  images.csv        your custody images: when taken, the system they came from, the legal basis",
        "  images/           the custody images themselves",
        "  watchlists.csv    the watchlists you were put on: the list, the category, the offence, the reason",
        "  alerts.csv        facial recognition alerts on you: when, where (deployment), the score, the judgement",
        "  restrictions.csv  restrictions of the processing of your data",
        "  access_log.csv    who consulted or disclosed your data, when, and the reason they gave",
        "",
        f"Other people's names were withheld (DPA 2018 s.45(4)(e)): {redactions} replaced by '{REDACTED}'.",
        "",
        "In this pack: " + ", ".join(files),
    ]
    if request.subject_id is None:
        lines[2:-2] = ["No record about you is held in the facial recognition system."]
    return "\n".join(lines).encode("utf-8") + b"\n"


def build(request: RightsRequest) -> Pack:
    """The pack for an access request (nothing held, when no record is linked)."""
    files: dict[str, bytes] = {}
    subject = request.subject
    redactions = 0
    if subject is not None:
        images = list(CustodyImage.objects.filter(subject=subject).select_related("uploaded_by").order_by("pk"))
        entries = list(Entry.objects.filter(subject=subject).select_related("watchlist").order_by("created_at", "pk"))
        alerts = list(Alert.objects.filter(subject=subject).select_related("deployment").order_by("created_at"))
        restrictions = list(SubjectRestriction.objects.filter(subject=subject).order_by("imposed_at"))
        events = list(access_review.search(access_review.AccessFilter(person=subject.pk)).order_by("seq"))
        texts = [entry.justification for entry in entries] + [entry.offence for entry in entries]
        texts += [event.reason for event in events] + [alert.adjudication_reason for alert in alerts]
        redact = Redactor(subject, texts)
        files["record.csv"] = _csv(
            ["family_name", "given_names", "date_of_birth", "pnc_id", "sex", "ethnicity", "registered_sex_offender",
             "created_at", "created_by"],
            [[subject.family_name, subject.given_names, subject.date_of_birth, subject.pnc_id,
              subject.get_sex_display(), subject.get_ethnicity_display(), subject.registered_sex_offender,
              subject.created_at.isoformat(), subject.created_by.get_username()]],
        )  # fmt: skip
        files["images.csv"] = _csv(
            ["image", "captured_on", "source_system", "legal_basis", "uploaded_at", "uploaded_by", "sha256"],
            [[image.pk, image.captured_on, image.source_system, image.get_legal_basis_display(),
              image.uploaded_at.isoformat(), image.uploaded_by.get_username(), image.sha256] for image in images],
        )  # fmt: skip
        for image in images:
            name = f"images/{image.pk}.{IMAGE_SUFFIX.get(image.content_type, 'bin')}"
            files[name] = encryption.decrypt(bytes(image.ciphertext), associated_data=image.associated_data())
        files["watchlists.csv"] = _csv(
            ["watchlist", "purpose", "from", "to", "category", "offence", "justification", "added_at"],
            [[entry.watchlist.reference, redact(entry.watchlist.purpose), entry.watchlist.intended_start.isoformat(),
              entry.watchlist.intended_end.isoformat(), entry.get_category_display(), redact(entry.offence),
              redact(entry.justification), entry.created_at.isoformat()] for entry in entries],
        )  # fmt: skip
        files["alerts.csv"] = _csv(
            ["alert", "when", "deployment", "score", "threshold", "judgement", "reason", "outcome"],
            [[alert.pk, alert.created_at.isoformat(), alert.deployment.reference, round(alert.score, 3),
              alert.threshold, alert.get_state_display(), redact(alert.adjudication_reason),
              alert.get_outcome_display()] for alert in alerts],
        )  # fmt: skip
        files["restrictions.csv"] = _csv(
            ["request", "imposed_at", "lifted_at"],
            [[item.request_reference, item.imposed_at.isoformat(), item.lifted_at.isoformat() if item.lifted_at else ""]
             for item in restrictions],
        )  # fmt: skip
        files["access_log.csv"] = _csv(
            ["when", "who", "what", "record", "reason"],
            [[event.created_at.isoformat(), event.actor_username, registry.get(event.action).label,
              f"{event.target_type}:{event.target_id}", redact(event.reason)] for event in events],
        )  # fmt: skip
        redactions = redact.count
    names = ["README.txt", *files]
    files = {"README.txt": _readme(request, redactions, names), **files}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    digests = {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}
    return Pack(buffer.getvalue(), digests, redactions)
