"""Private files: the data folder is 0700 and everything postcall writes in it is 0600.

`.postcall/` holds the SQLite database (transcripts, variables, end records, post-call payloads)
with its `-wal` and `-shm` files, the generated secrets, the admin token's hash and the session
key.  None of it is anybody else's business on a shared machine, so the folder is created 0700
and each file 0600 (SQLite gives `-wal`, `-shm` and `-journal` the database file's mode), and
at start a folder or file found more open (an older postcall, a copy, a umask) is closed back
with a `file_mode_fixed` log line naming the path and both modes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from postcall.logging import get_logger

log = get_logger("postcall.files")  # stderr even before logging is configured (never stdout)

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal", "-postcall.lock")


def _fix(path: Path, wanted: int) -> bool:
    """Remove group and other permissions from `path` (never following a symlink); True if changed."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode):
        return False
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o077:
        return False
    os.chmod(path, wanted)
    log.warning("file_mode_fixed", path=str(path), was=f"{mode:04o}", now=f"{wanted:04o}")
    return True


def private_dir(path: Path) -> Path:
    """Create `path` (0700) if missing, else close it to 0700 if group or others may enter it."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=DIR_MODE, exist_ok=True)
    _fix(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty (0600) if missing, else close it to 0600."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        _fix(path, FILE_MODE)
    else:
        os.close(fd)
    return path


def secure_data_dir(path: Path) -> Path:
    """`private_dir(path)`, and every regular file directly in it closed to 0600."""
    private_dir(path)
    for entry in sorted(Path(path).iterdir()):
        if entry.is_file() and not entry.is_symlink():
            _fix(entry, FILE_MODE)
    return path


def secure_sqlite_file(database: Path) -> None:
    """The database file created 0600 (before SQLite creates it with the umask's mode), and its
    side files closed to 0600; its folder is made private when it is ours (`.postcall`) or new."""
    database = Path(database)
    folder = database.parent
    if not folder.exists() or folder.name == ".postcall":
        private_dir(folder)
    private_file(database)
    for suffix in SQLITE_SIDE_FILES:
        _fix(database.with_name(database.name + suffix), FILE_MODE)
