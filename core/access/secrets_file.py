"""Add, change and remove users in the secrets file, keeping everything else in it as it was.

Only the lines of the `[tflab_auth.users]` table change (comments, other tables and their
order stay); the result is parsed again and must hold exactly what was meant, else nothing is
written. The file is replaced atomically and is always left with mode 0600.
"""

from __future__ import annotations

import copy
import os
import re
import stat
import tempfile
from pathlib import Path

from core.access.config import SECTION, AccessConfigError, read_toml

USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_USERS_HEADER = re.compile(rf"\s*\[\s*{SECTION}\s*\.\s*users\s*\]\s*(#.*)?")
_ANY_HEADER = re.compile(r"\s*\[")
NEW_SECTION = (
    f"[{SECTION}]\n"
    'mode = "password"  # "password", "oidc" or "off"\n'
    "admins = []  # user names who may stop, rename or delete every run\n"
)


def check_user_name(name: str) -> str:
    if not USER_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a usable user name: 1-64 letters, digits, '.', '_', '-' or '@', "
            "starting with a letter or digit"
        )
    return name


def list_users(path: Path) -> list[str]:
    if not path.is_file():
        return []
    section = read_toml(path).get(SECTION, {})
    users = section.get("users", {}) if isinstance(section, dict) else {}
    return sorted(users) if isinstance(users, dict) else []


def set_user(path: Path, name: str, password_hash: str) -> bool:
    """Write `name`'s hash into the file (created if missing); True if the user is new."""
    check_user_name(name)
    before = read_toml(path) if path.is_file() else {}
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    expected = copy.deepcopy(before)
    if not isinstance(expected.get(SECTION, {}), dict):
        raise AccessConfigError(f"{SECTION} in {path} must be a table: [{SECTION}]")
    fresh = SECTION not in expected
    section = expected.setdefault(SECTION, {})
    if fresh:
        section.update({"mode": "password", "admins": []})
    users = section.setdefault("users", {})
    if not isinstance(users, dict):
        raise AccessConfigError(f"{SECTION}.users in {path} must be a table")
    added = name not in users
    users[name] = password_hash
    line = f'"{name}" = "{password_hash}"\n'
    _write_checked(path, _edit(text, name, line, fresh), expected)
    return added


def remove_user(path: Path, name: str) -> None:
    """Take `name` out of the file; ValueError if it is not there."""
    if name not in list_users(path):
        raise ValueError(f"no user {name!r} in {path}")
    expected = read_toml(path)
    del expected[SECTION]["users"][name]
    _write_checked(path, _edit(path.read_text(encoding="utf-8"), name, None, False), expected)


def _edit(text: str, name: str, line: str | None, fresh: bool) -> str:
    """The text with `name`'s line in [tflab_auth.users] replaced by `line` (None: removed)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, t in enumerate(lines) if _USERS_HEADER.fullmatch(t.rstrip("\n"))), None)
    if start is None:
        if line is None:
            return text
        head = text if not text or text.endswith("\n") else text + "\n"
        head += "\n" if head else ""
        return head + (NEW_SECTION + "\n" if fresh else "") + f"[{SECTION}.users]\n" + line
    end = next((j for j in range(start + 1, len(lines)) if _ANY_HEADER.match(lines[j])), None)
    end = len(lines) if end is None else end
    key = re.compile(rf"\s*(?:{re.escape(name)}|\"{re.escape(name)}\"|'{re.escape(name)}')\s*=")
    hits = [j for j in range(start + 1, end) if key.match(lines[j])]
    if hits:
        lines[hits[0] : hits[0] + 1] = [line] if line else []
    elif line:
        at = end
        while at > start + 1 and not lines[at - 1].strip():
            at -= 1  # after the table's last entry, before the blank lines that end it
        if not lines[at - 1].endswith("\n"):
            lines[at - 1] += "\n"
        lines.insert(at, line)
    return "".join(lines)


def _write_checked(path: Path, text: str, expected: dict) -> None:
    """Write `text` to `path` (0600, atomic) only if it parses to exactly `expected`."""
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".secrets-", suffix=".toml", dir=path.parent)  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            written = read_toml(Path(tmp))
        except AccessConfigError:
            written = None
        if written != expected:
            raise AccessConfigError(
                f"could not update {path} line by line (the users are not a plain "
                f"[{SECTION}.users] table?); edit it by hand"
            )
        os.chmod(tmp, stat.S_IRUSR | stat.S_IWUSR)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
