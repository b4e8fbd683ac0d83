"""Password hashes (bcrypt), the constant-time check behind the login form and the lock-out
after repeated failures (core/access/lockout.py)."""

from __future__ import annotations

import bcrypt

from core.access.config import AuthConfig
from core.access.lockout import LoginAttempts, minutes_text
from core.access.secrets_file import USER_NAME

WRONG = "Wrong user name or password"
MIN_CHARS = 8
MAX_BYTES = 72  # bcrypt reads no further; longer passwords are refused, not cut silently
# Checked against when the user name is unknown, so a wrong name costs the same bcrypt work
# (the same cost factor as gensalt()'s default, 12) as a wrong password.
_DUMMY_HASH = b"$2b$12$YoAAFw1GcAxacuOUPnq54OtcbTKvkGZn02juODqJeo0u9FOOVXxZG"


class PasswordError(ValueError):
    """A new password that cannot be used (too short or too long)."""


def hash_password(password: str) -> str:
    """A bcrypt hash (salted, cost 12) of a new password, as text for the secrets file."""
    secret = password.encode("utf-8")
    if len(password) < MIN_CHARS:
        raise PasswordError(f"the password must have at least {MIN_CHARS} characters")
    if len(secret) > MAX_BYTES:
        raise PasswordError(f"the password must be at most {MAX_BYTES} bytes (bcrypt's limit)")
    return bcrypt.hashpw(secret, bcrypt.gensalt()).decode("ascii")


def check_password(config: AuthConfig, name: str, password: str) -> bool:
    """True if `name` is a user and `password` is theirs.

    Always exactly one bcrypt.checkpw (constant time in the password), also for an unknown
    name, so neither the answer nor its timing tells which user names exist.
    """
    stored = config.users.get(name) if name else None
    hashed = stored.encode("ascii") if stored else _DUMMY_HASH
    secret = password.encode("utf-8")
    try:
        matches = bcrypt.checkpw(secret[:MAX_BYTES], hashed)
    except ValueError:  # a malformed hash (load_config refuses those)
        matches = False
    return matches and stored is not None and len(secret) <= MAX_BYTES


def locked_message(name: str, seconds: float) -> str:
    """What the form says to a locked name (a typed name that could never be a user name, e.g.
    with markdown or spaces in it, is not repeated back)."""
    shown = name if USER_NAME.fullmatch(name) else "this user name"
    return (
        f"Too many failed logins for {shown}: this user name is locked for "
        f"{minutes_text(seconds)}. Try again later, or ask an admin to unlock it "
        f"(python -m core users unlock {shown if shown == name else 'NAME'})."
    )


def try_login(
    config: AuthConfig, name: str, password: str, attempts: LoginAttempts | None = None
) -> str:
    """ "" if `name` may log in with `password` now, else the one message to show: WRONG, or
    that the name is locked (checked first; the password is then not even tried). A wrong
    password counts towards the lock-out of that name, known or not, so the lock-out tells
    nothing about which names exist; a right one clears the count. LockoutError if the
    attempts file cannot be used (the caller refuses the login: fail closed)."""
    attempts = attempts or LoginAttempts(config.lockout)
    left = attempts.locked_for(name)
    if left:
        return locked_message(name, left)
    if check_password(config, name, password):
        attempts.clear(name)
        return ""
    left = attempts.record_failure(name)
    return locked_message(name, left) if left else WRONG
