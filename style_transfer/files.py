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

from style_transfer.parameters import ArgumentError


def _folder(path):
    return path.parent if str(path.parent) else pathlib.Path(".")


def _nearest_existing(path):
    """`path`, or its nearest parent that exists (where a missing folder would be made)."""
    path = pathlib.Path(path)
    return next(p for p in [path, *path.parents] if p.exists())


def check_folder_writable(folder):
    """Raises ValueError unless a file can be created in `folder`, found by creating one
    (permission bits say nothing to root, nor of a read-only or virtual file system). A
    folder that does not exist yet counts if it can be made: its nearest existing parent
    is a writable folder (the writers make it, `atomic_path`)."""
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise ValueError(f"{existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ValueError(f"folder {existing} is not writable ({error.strerror})") from None


def check_name_length(path):
    """Raises ValueError if the file name is longer than its file system allows."""
    path = pathlib.Path(path)
    limit = os.pathconf(_nearest_existing(_folder(path)), "PC_NAME_MAX")
    if len(os.fsencode(path.name)) > limit:
        raise ValueError(f"the name is {len(os.fsencode(path.name))} bytes long, more than "
                         f"the {limit} its file system allows; give a shorter name")


def make_folder(path, argument, create=True):
    """Checks that `path` is a folder, or can be made one, where files can be written;
    makes it (and its parents) if `create`. A file in the way, or a folder that cannot be
    written, raises `ArgumentError` naming `argument`, before anything is written."""
    path = pathlib.Path(path)
    existing = _nearest_existing(path)
    if not existing.is_dir():
        where = "" if existing == path else f"{existing} "
        raise ArgumentError(argument, f"{path}: {where}is a file, not a folder; give a "
                                      f"folder (created if needed)")
    try:
        check_folder_writable(existing)
        if create:
            path.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as error:
        raise ArgumentError(argument, f"{path}: {getattr(error, 'strerror', None) or error}"
                            ) from None
    return path


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path` (same extension) to write; renames it over
    `path` when the block ends without error, and removes it otherwise.

    For writers that want a file name rather than a file object (Keras' `model.save`).
    """
    path = pathlib.Path(path)
    _folder(path).mkdir(parents=True, exist_ok=True)  # An output's missing folder is made.
    # The stem's first 100 characters: the temporary name, ~20 more, stays a legal name.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem[:100]}.",
                                         suffix=f".tmp{path.suffix}", dir=_folder(path))
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
