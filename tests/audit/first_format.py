"""A checkpoint as Govern signed them before checkpoints were C2SP notes: no origin, its time signed into the body."""

from apps.audit import merkle, services, signing, verifier
from apps.audit.models import Checkpoint, LogHead


def sign_first_format_checkpoint() -> Checkpoint:
    """Sign the log as it stands the way the first format did (the code of that time, kept here for the tests)."""
    head = LogHead.objects.get(pk=1)
    root = merkle.CompactRange.from_bytes(head.size, bytes(head.frontier)).root()
    timestamp = services.format_time(services.timezone.now())
    signature = signing.sign(verifier.checkpoint_message(head.size, root, timestamp))
    return Checkpoint.objects.create(
        tree_size=head.size, root_hash=root, timestamp=timestamp, signature=signature, key_id=signing.key_id()
    )
