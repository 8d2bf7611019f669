"""Writing a file only its owner may read: secrets, keys, the configuration.

The file is created with mode 0600 *before* a byte is written (never written,
then chmod-ed: in between it would be readable by anyone), written to a
temporary name beside the target, flushed to disk, and renamed over the
target, so a reader sees the old content or the new, never half of it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_MODE = 0o600


def write_private(path: Path, data: str | bytes) -> None:
    """Atomically replace `path` with `data`, readable and writable by the owner only."""
    raw = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
