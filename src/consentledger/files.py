"""Writing files that a planted symlink cannot redirect.

Someone who can create entries in a directory we write to (a shared ``out/``, a data directory
left open) could put a symlink where our next file or temporary file will be, and have us write
through it into a file of their choice. So a whole file is written to a fresh temporary file
(``mkstemp``: a random name, created exclusively, mode 0600, never through a link) in the same
directory and renamed over the target (a rename replaces a symlink, it does not follow it); a file
we append to is opened with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: Open flags that refuse a symlink in the last component (``ELOOP``).
NO_FOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


def fsync_directory(path: Path) -> None:
    """Make the entries of the directory ``path`` durable (a rename, a new file)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_atomically(path: Path, data: bytes | str, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` (str as UTF-8): a temporary file in the same directory,
    written, fsynced and renamed over ``path``; then, if ``durable``, the directory is fsynced
    too. A symlink at ``path`` is replaced, never followed. The file's mode is 0600. Raises
    ``OSError`` (the temporary file removed)."""
    content = data.encode("utf-8") if isinstance(data, str) else data
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    if durable:
        fsync_directory(path.parent)


def open_no_follow(path: Path, flags: int, mode: int = 0o600) -> int:
    """``os.open`` that refuses a symlink at ``path`` (``OSError`` with ``ELOOP``)."""
    return os.open(path, flags | NO_FOLLOW, mode)
