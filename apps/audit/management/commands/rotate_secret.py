"""`manage.py rotate_secret {audit-signing,receipt,image} --reason "..." [--actor USERNAME]`.

Writes the new key beside the current one, records the rotation in the audit log (`audit.key_rotated`: who, why,
old and new key ids, never a key) and swaps the key file in one rename. For the image key it then re-encrypts every
stored image in batches and destroys the old key once no image is under it (`audit.key_retired`); `--resume`
finishes an interrupted re-encryption without a new key.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from govern import encryption

from ... import data_keys, rotation
from ...choices import Secret

_LOCK = 0x676F7665726E  # one rotation at a time, across machines: two would re-encrypt against each other


class Command(BaseCommand):
    """Rotate one of Govern's secrets; the rotation is itself an audit event."""

    help = "Rotate a secret key (audit signing, deletion-receipt HMAC, image encryption); see docs/security.md."

    def add_arguments(self, parser):
        parser.add_argument("secret", choices=Secret.values)
        parser.add_argument("--reason", required=True, help="Why the key is rotated (recorded in the audit log).")
        parser.add_argument("--actor", help="Username of the person rotating it (recorded); default: the system.")
        parser.add_argument(
            "--resume",
            action="store_true",
            help="image: no new key; re-encrypt what is left under retired keys and destroy the keys no image needs.",
        )
        parser.add_argument("--batch-size", type=int, default=100, help="image: images per transaction.")

    def handle(self, *args, secret, reason, actor=None, resume=False, batch_size=100, **options):
        if not reason.strip():
            raise CommandError("--reason must say why the key is rotated.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if resume and secret != Secret.IMAGE:
            raise CommandError("--resume applies to the image key only; run the rotation again to finish another.")
        user = self._actor(actor)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK])
            if not cursor.fetchone()[0]:
                raise CommandError("Another rotate_secret is running; wait for it to finish.")
        try:
            if secret == Secret.IMAGE:
                self._image(user, reason, resume, batch_size)
            elif secret == Secret.AUDIT_SIGNING:
                self._report(rotation.rotate_signing_key(user, reason))
            else:
                self._report(rotation.rotate_receipt_key(user, reason))
        except (ImproperlyConfigured, rotation.RotationRefused) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK])

    def _actor(self, username):
        if username is None:
            return None
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        return user

    def _report(self, done: rotation.Rotation) -> None:
        verb = "completed the interrupted rotation of" if done.resumed else "rotated"
        self.stdout.write(
            f"{verb} {done.secret}: key {done.old_key_id} -> {done.new_key_id} (audit event {done.event_seq})"
        )
        if done.checkpoint_size is not None:
            self.stdout.write(
                f"the old key signed checkpoint {done.checkpoint_size}, which holds the hand-over; "
                "the new key signs from the next checkpoint on"
            )

    def _image(self, user, reason, resume, batch_size):
        if not resume:
            self._report(rotation.rotate_image_key(user, reason))

        def progress(model, count):
            self.stdout.write(f"re-encrypted {count} {model._meta.label} image(s)")

        try:
            total = encryption.reencrypt(batch_size=batch_size, progress=progress)
        except encryption.ImageDecryptionError as exc:
            raise CommandError(
                f"Re-encryption stopped at an image no kept key opens ({exc}); the images done so far are under the "
                "new key, the rest are as they were."
            ) from exc
        self.stdout.write(f"{total} image(s) re-encrypted under key {encryption.key_id()}")
        self.stdout.write(f"{data_keys.rewrap()} data key(s) re-wrapped under key {encryption.key_id()}")
        for key_id in rotation.retire_unused_image_keys(user, reason):
            self.stdout.write(f"destroyed retired key {key_id}: no image nor data key is encrypted under it")
        left = encryption.ring_key_ids()
        if left:
            self.stdout.write(f"still kept (images or data keys remain under them): {', '.join(left)}")
