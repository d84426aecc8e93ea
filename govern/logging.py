"""A logging filter that blanks key material out of every record, in whatever form it was printed.

Govern never logs a key on purpose (tests/security/test_secrets.py drives every key-using path and looks); this is
the net under that rule, for a debug print or a traceback that shows a local variable. It knows the keys this
process read (govern.keyfiles remembers them) and Django's SECRET_KEY and fallbacks, and looks for each as text,
hex, base64 (standard and URL-safe, padded or not), a Python bytes literal, and each line of a PEM file.
"""

import base64
import logging

from django.conf import settings

from govern import keyfiles

REDACTED = "[redacted key material]"
_MIN_LENGTH = 16  # shorter forms would blank innocent text


def _forms(material: bytes) -> set[str]:
    """Every way these bytes may appear in a log line."""
    forms = {material.hex(), material.hex().upper(), repr(material)[2:-1]}
    for encoded in (base64.b64encode(material), base64.urlsafe_b64encode(material)):
        forms |= {encoded.decode(), encoded.rstrip(b"=").decode()}
    try:
        text = material.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text.isprintable() or "-----BEGIN" in text:
        forms.add(text.strip())
        forms |= {line.strip() for line in text.splitlines() if "-----" not in line}
    return {form for form in forms if len(form) >= _MIN_LENGTH}


_cache: tuple[frozenset, tuple[str, ...]] = (frozenset(), ())


def needles() -> tuple[str, ...]:
    """The strings to blank out, longest first (so a key's PEM goes whole before its lines)."""
    global _cache
    material = set(keyfiles.known_material())
    if settings.configured:
        for secret in (getattr(settings, "SECRET_KEY", ""), *getattr(settings, "SECRET_KEY_FALLBACKS", ())):
            if secret:
                material.add(secret.encode() if isinstance(secret, str) else bytes(secret))
    known = frozenset(material)
    if known != _cache[0]:
        found = set().union(*(_forms(item) for item in known)) if known else set()
        _cache = (known, tuple(sorted(found, key=len, reverse=True)))
    return _cache[1]


def redact(text: str) -> str:
    """The text with every known form of key material replaced."""
    for needle in needles():
        if needle in text:
            text = text.replace(needle, REDACTED)
    return text


class RedactSecretsFilter(logging.Filter):
    """Attach to every handler (LOGGING["filters"]): rewrites the message, arguments and traceback of each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's own error reporting
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
