"""Key files: secrets the database never holds (audit signing key, image key, receipt key)."""

import os
from pathlib import Path


def create_secret_file(path: Path, content: bytes) -> None:
    """Write a new key file readable by its owner only; never overwrite one (another process may have won)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process generated it first: use theirs
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
