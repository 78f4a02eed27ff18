"""The one way this package writes a file: to a temporary file beside it, then a rename.

Every result image, checkpoint (image or network), optimiser state and run report goes
through `write_atomically` or `atomic_path`. The rename is atomic on POSIX and Windows,
so a reader (or a run interrupted halfway, or a writer that fails) never leaves a partial
file: the destination holds either its old bytes or the complete new ones, and the
temporary file is removed on failure.
"""

import contextlib
import hashlib
import json
import os
import pathlib
import tempfile


def _folder(path):
    return path.parent if str(path.parent) else pathlib.Path(".")


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path` (same extension) to write; renames it over
    `path` when the block ends without error, and removes it otherwise.

    For writers that want a file name rather than a file object (Keras' `model.save`).
    """
    path = pathlib.Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}",
                                         dir=_folder(path))
    os.close(handle)
    try:
        yield pathlib.Path(temporary)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; give usual mode.
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise


def write_atomically(path, write):
    """Calls `write(file_object)` on a temporary binary file beside `path`, then renames
    it over `path`; on any error (or Ctrl-C) `path` keeps its old content."""
    with atomic_path(path) as temporary, open(temporary, "wb") as f:
        write(f)


def write_json(path, value):
    """Writes `value` as indented JSON, atomically (streamed into the temporary file)."""
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1)


def sha256(path):
    """The hex SHA-256 of a file (weights and models in run reports), read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
