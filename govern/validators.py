"""Validators on values about people that every app records the same way."""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

EARLIEST_BIRTH = datetime.date(1900, 1, 1)


def date_of_birth(value: datetime.date) -> None:
    """A date of birth a living person can have: from 1900, and not in the future (0001-01-01 was accepted)."""
    if value < EARLIEST_BIRTH:
        raise ValidationError(f"A date of birth before {EARLIEST_BIRTH:%d %B %Y} is not plausible: check it.")
    if value > timezone.localdate():
        raise ValidationError("The date of birth is in the future.")
