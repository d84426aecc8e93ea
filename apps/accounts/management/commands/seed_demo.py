"""`manage.py seed_demo`: one demo account per role and each app's synthetic demo data, idempotent."""

import secrets
from importlib import import_module
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import module_has_submodule

from govern.roles import Rank, Role

from ...models import User
from ...services import accounts, two_factor

FORCE = "Demo Constabulary"

# username, first name, last name, rank, unit, role
DEMO_ACCOUNTS = [
    ("commander", "Alex", "Morgan", Rank.SUPERINTENDENT, "Operations Command", Role.AUTHORISING_OFFICER),
    ("compiler", "Priya", "Shah", "", "Intelligence Unit", Role.WATCHLIST_COMPILER),
    ("officer", "Sam", "Okafor", Rank.CONSTABLE, "Response Team 3", Role.OFFICER),
    ("privacy", "Jordan", "Ellis", "", "Data Protection Office", Role.PRIVACY_OFFICER),
    ("ppu", "Dana", "Hale", Rank.CONSTABLE, "Public Protection Unit", Role.OFFICER),
    ("ppu-sergeant", "Lee", "Cole", Rank.SERGEANT, "Public Protection Unit", Role.OFFICER),
    ("oversight", "Ruth", "Campbell", "", "Office of the Police and Crime Commissioner", Role.OVERSIGHT),
    ("retail", "Chris", "Bennett", "", "Northgate Retail Ltd", Role.RETAIL_PARTNER),
    ("admin", "Morgan", "Reid", "", "Information Services", Role.ADMINISTRATOR),
]


class Command(BaseCommand):
    """Create the demo accounts if missing and make sure each can sign in with the printed password."""

    help = "Create one demo account per role (idempotent). Refuses to run with DEBUG off unless --force."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            help="One password for every demo account (else the one kept in the credentials file, or random).",
        )
        parser.add_argument("--credentials-file", type=Path, help="Where to keep generated passwords.")
        parser.add_argument("--force", action="store_true", help="Seed even though DEBUG is off.")

    def handle(self, *args, password=None, credentials_file=None, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo accounts on a production system are a way in: run with DEBUG on, or --force.")
        credentials_file = credentials_file or Path(settings.VAR_DIR) / "demo-credentials.txt"
        stored = _read_credentials(credentials_file)
        chosen = {}
        otpauth = {}
        with transaction.atomic():
            accounts.ensure_role_groups()
            for username, first, last, rank, unit, role in DEMO_ACCOUNTS:
                wanted = password or stored.get(username) or secrets.token_urlsafe(12)
                chosen[username] = wanted
                user = User.objects.filter(username=username).first()
                profile = {"first_name": first, "last_name": last, "rank": rank, "force": FORCE, "unit": unit}
                if user is None:
                    user = accounts.create_user(None, username, wanted, roles=[role], reason="demo data", **profile)
                else:
                    if user.roles != {role}:
                        accounts.set_roles(None, user, [role], reason="demo data")
                    if not user.check_password(wanted):
                        accounts.set_password(None, user, wanted, reason="demo data")
                if user.needs_second_factor:
                    # Its authenticator secret goes into the credentials file beside the password (see README).
                    otpauth[username] = two_factor.enrol_for_demo(user).config_url
        _write_credentials(credentials_file, chosen, otpauth)
        self.stdout.write(f"Demo accounts ready (passwords and two-factor secrets in {credentials_file}):")
        for username, *_rest, role in DEMO_ACCOUNTS:
            second = "  + two-factor code (secret in the file)" if username in otpauth else ""
            self.stdout.write(f"  {username:<12} {chosen[username]:<20} {role.label}{second}")
        # Each app above accounts may bring its own demo data in a `demo` module with `seed(stdout)`, run in the
        # order of the module's ORDER (default: the app's place in INSTALLED_APPS).
        modules = [
            import_module(f"{config.name}.demo")
            for config in apps.get_app_configs()
            if config.name.startswith("apps.") and module_has_submodule(config.module, "demo")
        ]
        for module in sorted(modules, key=lambda module: getattr(module, "ORDER", 100)):  # stable: app order
            module.seed(self.stdout)


# Each line: username, password and, for a role that signs in with a second factor, its otpauth:// URI.
OTPAUTH_MARK = " otpauth://"


def _read_credentials(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split(None, 1) for line in path.read_text().splitlines() if line.strip())
    return {parts[0]: parts[1].split(OTPAUTH_MARK, 1)[0].strip() for parts in pairs if len(parts) == 2}


def _read_otpauth(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split(OTPAUTH_MARK, 1) for line in path.read_text().splitlines() if OTPAUTH_MARK in line)
    return {head.split()[0]: "otpauth://" + uri.strip() for head, uri in pairs if head.strip()}


def _write_credentials(path: Path, chosen: dict[str, str], otpauth: dict[str, str] | None = None) -> None:
    """Write the file; without `otpauth` (another app's demo adding its accounts) the file's URIs are kept."""
    if otpauth is None:
        otpauth = _read_otpauth(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (
        f"{username} {password}{' ' + otpauth[username] if username in otpauth else ''}\n"
        for username, password in chosen.items()
    )
    path.write_text("".join(lines))
    path.chmod(0o600)
