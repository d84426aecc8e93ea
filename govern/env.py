"""Strict parsers for settings read from the environment: a bad value stops start-up with a clear message."""

import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    """The variable's value, or the contents of the file named by NAME_FILE (for secrets)."""
    value = os.environ.get(name)
    file_name = os.environ.get(f"{name}_FILE")
    if value is not None and file_name is not None:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if file_name is not None:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc.strerror}.") from exc
    return value


def string(name: str, default: str | None = None, *, min_length: int = 0) -> str | None:
    """A string; empty counts as unset."""
    value = _raw(name)
    if value is None or value == "":
        return default
    if len(value) < min_length:
        raise ImproperlyConfigured(f"{name} must be at least {min_length} characters long.")
    return value


def boolean(name: str, default: bool) -> bool:
    """true/false, yes/no, on/off, 1/0; anything else is refused."""
    value = _raw(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false).")


def integer(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number within bounds."""
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} is above the maximum {maximum}.")
    return number


def score(name: str, default: str) -> Decimal:
    """A similarity score from 0 to 1 with at most three decimal places, e.g. 0.600."""
    value = _raw(name) or default
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    if not number.is_finite() or not 0 <= number <= 1 or number.as_tuple().exponent < -3:
        raise ImproperlyConfigured(f"{name}={value!r} must lie between 0 and 1, with at most three decimals.")
    return number.quantize(Decimal("0.001"))


def decimal(name: str, default: str, *, minimum: str | None = None) -> Decimal:
    """A finite decimal number, at least `minimum`, e.g. 0.5."""
    value = _raw(name) or default
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    if not number.is_finite() or (minimum is not None and number < Decimal(minimum)):
        raise ImproperlyConfigured(f"{name}={value!r} must be a finite number of at least {minimum}.")
    return number


def host_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of host names; blanks and whitespace inside a name are refused."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    hosts = [part.strip() for part in value.split(",")]
    for host in hosts:
        if not host or any(ch.isspace() for ch in host) or "/" in host:
            raise ImproperlyConfigured(f"{name}={value!r} holds an invalid host name {host!r}.")
    return hosts


def rate(name: str, default: str) -> str:
    """A request rate as Django REST framework's throttles read it: a positive count per s, min, hour or day."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    count, _, period = value.strip().partition("/")
    if not count.isdigit() or int(count) < 1 or period not in ("s", "sec", "m", "min", "h", "hour", "d", "day"):
        raise ImproperlyConfigured(f"{name}={value!r} is not a rate: a positive count per s, min, hour or day (100/s).")
    return value.strip()


def log_origin(name: str, default: str | None) -> str | None:
    """A transparency log's origin (c2sp.org/tlog-checkpoint): a schema-less URL of printable ASCII, no spaces nor
    plus signs (it is also the key name its checkpoints are signed under), at most 255 characters."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    if (
        not value.isascii()
        or not value.isprintable()
        or any(ch.isspace() or ch == "+" for ch in value)
        or "://" in value
        or len(value) > 255
    ):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a log origin: a schema-less URL such as govern.example-police.uk/audit, "
            "printable ASCII without spaces or '+', at most 255 characters."
        )
    return value


def path(name: str, default: Path | None = None) -> Path | None:
    """A file-system path; relative paths are refused so the meaning does not depend on the working folder."""
    value = _raw(name)
    if value is None or value == "":
        return default
    candidate = Path(value)
    if not candidate.is_absolute():
        raise ImproperlyConfigured(f"{name}={value!r} must be an absolute path.")
    return candidate


def database_url(name: str) -> dict | None:
    """A PostgreSQL URL as a Django DATABASES entry; any other engine is refused (Govern needs pgvector)."""
    value = _raw(name)
    if value is None or value == "":
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(f"{name} must be a postgresql:// URL; Govern runs only on PostgreSQL with pgvector.")
    query = parse_qs(parts.query)
    host = unquote(parts.hostname or "") or query.get("host", [""])[0]
    name_part = unquote(parts.path.lstrip("/"))
    if not name_part:
        raise ImproperlyConfigured(f"{name} names no database (postgresql://user:password@host:port/DATABASE).")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port.") from None
    options = {key: values[-1] for key, values in query.items() if key not in {"host"}}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name_part,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port or ""),
        "OPTIONS": options,
    }


def broker_url(name: str) -> str | None:
    """A Celery broker URL (redis:// or rediss://); unset means tasks run in-process."""
    value = _raw(name)
    if value is None or value == "":
        return None
    scheme = urlsplit(value).scheme
    if scheme not in {"redis", "rediss", "memory"}:
        raise ImproperlyConfigured(f"{name} must be a redis:// URL, not {scheme or value!r}.")
    return value


def choice(name: str, default: str, choices) -> str:
    """One of a closed list of values."""
    value = _raw(name)
    if value is None or value == "":
        return default
    allowed = [str(option) for option in choices]
    if value not in allowed:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of: {', '.join(allowed)}.")
    return value


def witnesses(name: str, read_key) -> list[dict]:
    """Transparency log witnesses (c2sp.org/tlog-witness), comma-separated, each `<verifier key> <submission URL>`: the
    key as `<name>+<hex key hash>+<base64(0x04 || Ed25519 key)>`, checked by `read_key` (which raises ValueError), the
    URL http(s) without query or fragment. A name given twice is refused."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return []
    found: list[dict] = []
    for entry in value.split(","):
        parts = entry.split()
        if len(parts) != 2:
            raise ImproperlyConfigured(f"{name}: {entry.strip()!r} is not '<verifier key> <URL>'.")
        try:
            key = read_key(parts[0])
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {exc}.") from None
        url = urlsplit(parts[1])
        if url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment:
            raise ImproperlyConfigured(f"{name}: {parts[1]!r} is not a witness's http(s) URL (its submission prefix).")
        if any(witness["name"] == key.name for witness in found):
            raise ImproperlyConfigured(f"{name} names the witness {key.name} twice.")
        found.append({"name": key.name, "verifier_key": str(key), "url": parts[1].rstrip("/")})
    return found
