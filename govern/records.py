"""What a service does with a record before it writes it: the time of the change, a whole validation, a reference.

Part of the kernel: it imports no app.
"""

import datetime

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone


def moment(now: datetime.datetime | None) -> datetime.datetime:
    """The time of a change: the one a caller passed (a command's --now, a test), or now."""
    return now or timezone.now()


def validate(instance, exclude=()) -> None:
    """Run the model's whole validation; a value of the wrong type (a date given as text) is a ValidationError too."""
    try:
        instance.full_clean(exclude=list(exclude))
    except ValidationError:
        raise
    except Exception as exc:
        raise ValidationError(str(exc)) from exc


def gather(errors: dict, check) -> None:
    """Run one check, keeping its refusal with the others' (field by field) so a form shows every error at once."""
    try:
        check()
    except ValidationError as exc:
        problems = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
        for field, messages in problems.items():
            errors.setdefault(field, []).extend(messages)


def next_reference(model, prefix: str, now: datetime.datetime, digits: int = 4) -> str:
    """The next reference of a model's numbered series for the year of `now`: e.g. LFR-2026-0007. Taken under the
    caller's transaction; the field's unique constraint refuses a second one taken at the same moment."""
    year = timezone.localtime(now).year
    count = model._default_manager.filter(reference__startswith=f"{prefix}-{year}-").count()
    return f"{prefix}-{year}-{count + 1:0{digits}d}"
