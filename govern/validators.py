"""Validators on values about people that every app records the same way."""

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils import timezone

EARLIEST_BIRTH = datetime.date(1900, 1, 1)


def date_of_birth(value: datetime.date) -> None:
    """A date of birth a living person can have: from 1900, and not in the future (0001-01-01 was accepted)."""
    if value < EARLIEST_BIRTH:
        raise ValidationError(f"A date of birth before {EARLIEST_BIRTH:%d %B %Y} is not plausible: check it.")
    if value > timezone.localdate():
        raise ValidationError("The date of birth is in the future.")


# No one younger is arrested, so no custody image (and no offender record) is of a younger person (England and Wales:
# the age of criminal responsibility); a child, for safeguarding, is anyone under 18.
AGE_OF_CRIMINAL_RESPONSIBILITY = 10
ADULT_AT = 18


def age_on(born: datetime.date, day: datetime.date) -> int:
    """Age in whole years on a day."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def old_enough_to_be_arrested(born: datetime.date | None, day: datetime.date) -> None:
    """A date of birth for a person with a custody or offender record: at least 10 years old on `day`."""
    if born is not None and born <= day and age_on(born, day) < AGE_OF_CRIMINAL_RESPONSIBILITY:
        raise ValidationError(
            f"This date of birth makes the person {age_on(born, day)} on {day:%d %B %Y}: nobody under "
            f"{AGE_OF_CRIMINAL_RESPONSIBILITY} is arrested or convicted; check it."
        )


def a_child_on(born: datetime.date | None, day: datetime.date) -> None:
    """A child's date of birth: born by `day` and under 18 on it."""
    if born is None:
        return
    if born > day:
        raise ValidationError(f"The child's date of birth is after {day:%d %B %Y}, the day of the first contact.")
    if age_on(born, day) >= ADULT_AT:
        raise ValidationError(
            f"This date of birth makes them {age_on(born, day)} on {day:%d %B %Y}: the scheme is about children "
            f"under {ADULT_AT}; check it."
        )


# The UK postcode's shape (BS 7666): an outward code (area, district) and an inward code (sector, unit), e.g. SW1A 1AA.
UK_POSTCODE = re.compile(
    r"^(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY])"
    r" ?[0-9][ABD-HJLNP-UW-Z]{2})$"
)
# The United Kingdom's extent (Great Britain, Northern Ireland and the islands), in degrees (WGS84).
UK_LATITUDE, UK_LONGITUDE = (49.8, 60.9), (-8.7, 1.8)


def uk_postcode(value: str) -> str:
    """A UK postcode in its usual form (upper case, one space before the inward code), or a ValidationError."""
    compact = re.sub(r"\s+", "", value or "").upper()
    if not UK_POSTCODE.match(compact):
        raise ValidationError(f"“{value}” is not a UK postcode: give it as on a letter, e.g. SW1A 1AA.")
    return f"{compact[:-3]} {compact[-3:]}"


def in_the_united_kingdom(latitude, longitude) -> None:
    """A place in the United Kingdom: a latitude and longitude typed the wrong way round or with a sign lost is not."""
    if not (
        UK_LATITUDE[0] <= float(latitude) <= UK_LATITUDE[1] and UK_LONGITUDE[0] <= float(longitude) <= UK_LONGITUDE[1]
    ):
        raise ValidationError(
            f"{latitude}, {longitude} is not in the United Kingdom (latitude {UK_LATITUDE[0]} to {UK_LATITUDE[1]}, "
            f"longitude {UK_LONGITUDE[0]} to {UK_LONGITUDE[1]}): check the coordinates, or whether they were swapped."
        )
