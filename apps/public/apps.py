"""The public app: what anyone may read without signing in, the notices of deployments to come, each completed
deployment's report, the annual figures and how each figure is derived; never a person."""

from django.apps import AppConfig


class PublicConfig(AppConfig):
    """Pages only: the figures it shows are kept by the deployments and matching apps."""

    name = "apps.public"
    label = "public"
    verbose_name = "Public records"
