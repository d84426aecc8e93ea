"""The closed lists of the public pages: the formats they answer in."""

from django.db import models


class Format(models.TextChoices):
    """What a public page may be asked for with `?format=`."""

    HTML = "html", "Web page"
    CSV = "csv", "CSV"
