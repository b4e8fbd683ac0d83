"""Where login settings come from and what they say: the `[tflab_auth]` table of the secrets file.

The dashboard and the CLI read the same files Streamlit reads for st.secrets:
`~/.streamlit/secrets.toml`, then `<checkout>/.streamlit/secrets.toml` (top-level keys of the
later file win). `$TFLAB_SECRETS` names one file to read instead (tests use it, so they never
touch the real one). `TFLAB_AUTH_MODE`, `TFLAB_AUTH_ADMINS` and `TFLAB_AUTH_ALLOWED_EMAILS`
(comma separated) override the file's `mode`, `admins` and `allowed_emails`.
"""

from __future__ import annotations

import getpass
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core import paths
from core.access.lockout import LockoutPolicy

SECRETS_ENV = "TFLAB_SECRETS"
SECTION = "tflab_auth"
MODES = ("off", "password", "oidc")
ENV_OVERRIDES = {
    "mode": "TFLAB_AUTH_MODE",
    "admins": "TFLAB_AUTH_ADMINS",
    "allowed_emails": "TFLAB_AUTH_ALLOWED_EMAILS",
}
BCRYPT_HASH = re.compile(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}")


class AccessConfigError(ValueError):
    """The login settings cannot be used; the message says what to fix. Never a silent 'off'."""


@dataclass(frozen=True)
class AuthConfig:
    """The login settings in force (mode "off": nobody logs in, everything as before)."""

    mode: str = "off"
    users: Mapping[str, str] = field(default_factory=dict)  # name -> bcrypt hash
    admins: frozenset[str] = frozenset()
    allowed_emails: frozenset[str] = frozenset()
    provider: str = ""  # a named st.login provider ([auth.NAME]); "" uses [auth] itself
    max_failed_logins: int = 5  # wrong passwords for one name within lockout_minutes; 0: off
    lockout_minutes: float = 15.0  # ... then that name is locked this long
    source: str = "no secrets file"

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    @property
    def lockout(self) -> LockoutPolicy:
        seconds = self.lockout_minutes * 60
        return LockoutPolicy(self.max_failed_logins, window_s=seconds, lock_s=seconds)

    def is_admin(self, user: str) -> bool:
        return bool(user) and _normal(user, self.mode) in self.admins


def os_user() -> str:
    """The operating-system user: the owner of runs started from the CLI."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (some containers)
        return f"uid-{os.getuid()}"


def secrets_path() -> Path:
    """The file `python -m core users` writes: $TFLAB_SECRETS, else the checkout's."""
    override = os.environ.get(SECRETS_ENV)
    return Path(override).expanduser() if override else paths.home() / ".streamlit/secrets.toml"


def secrets_files() -> list[Path]:
    """The files read, in order; $TFLAB_SECRETS must exist (a typo must not switch login off)."""
    override = os.environ.get(SECRETS_ENV)
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise AccessConfigError(f"{SECRETS_ENV} names {path}, which is not a file")
        return [path]
    candidates = [Path.home() / ".streamlit/secrets.toml", paths.home() / ".streamlit/secrets.toml"]
    found: list[Path] = []
    for path in candidates:
        if path.is_file() and all(not path.samefile(p) for p in found):
            found.append(path)
    return found


def read_toml(path: Path) -> dict:
    """One secrets file as a dict; a clear error (no traceback) if it is not valid TOML."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise AccessConfigError(f"{path} is not valid TOML: {err}") from None
    except OSError as err:
        raise AccessConfigError(f"cannot read {path}: {err.strerror}") from None


def read_secrets() -> tuple[dict, str]:
    """(the merged secrets, a description of where they came from)."""
    merged: dict = {}
    files = secrets_files()
    for path in files:
        merged.update(read_toml(path))
    return merged, " + ".join(str(p) for p in files) or "no secrets file"


def load_config() -> AuthConfig:
    """The login settings in force now (read on every call: `users add` needs no restart)."""
    secrets, source = read_secrets()
    section = secrets.get(SECTION, {})
    if not isinstance(section, dict):
        raise AccessConfigError(f"{SECTION} in {source} must be a table: [{SECTION}]")
    return parse_config(section, source, os.environ)


def parse_config(section: dict, source: str, environ: Mapping[str, str]) -> AuthConfig:
    """Check and normalise one [tflab_auth] table (plus the environment's overrides)."""
    where = f"[{SECTION}] in {source}"
    values = dict(section)
    for key, variable in ENV_OVERRIDES.items():
        if environ.get(variable):
            raw = environ[variable]
            values[key] = raw.strip() if key == "mode" else [v for v in raw.split(",")]
            where = f"{where} (with ${variable})"
    if not values:
        return AuthConfig(source=source)
    mode = values.get("mode")
    if mode not in MODES:
        raise AccessConfigError(
            f"{where}: mode must be one of {', '.join(repr(m) for m in MODES)}, not {mode!r}"
        )
    users = values.get("users", {})
    if not isinstance(users, dict):
        raise AccessConfigError(f"{where}: users must be a table ([{SECTION}.users])")
    for name, hashed in users.items():
        if not isinstance(hashed, str) or not BCRYPT_HASH.fullmatch(hashed):
            raise AccessConfigError(
                f"{where}: the password of user {name!r} is not a bcrypt hash; "
                f"set it with: python -m core users add {name}"
            )
    admins = _string_list(values, "admins", where)
    emails = _string_list(values, "allowed_emails", where)
    provider = values.get("provider", "")
    if not isinstance(provider, str):
        raise AccessConfigError(f"{where}: provider must be a string")
    max_failed, lock_minutes = _lockout_settings(values, where)
    if mode == "password" and not users:
        raise AccessConfigError(
            f'{where}: mode = "password" but there are no users; '
            "add one with: python -m core users add NAME"
        )
    if mode == "oidc" and not emails:
        raise AccessConfigError(
            f'{where}: mode = "oidc" but allowed_emails is empty, so nobody could log in'
        )
    return AuthConfig(
        mode=mode,
        users=dict(users),
        admins=frozenset(_normal(a, mode) for a in admins),
        allowed_emails=frozenset(e.lower() for e in emails),
        provider=provider,
        max_failed_logins=max_failed,
        lockout_minutes=lock_minutes,
        source=source,
    )


def _lockout_settings(values: dict, where: str) -> tuple[int, float]:
    """(max_failed_logins, lockout_minutes), checked: an int 0-1000 (0: no lock-out) and
    minutes between 1 and 1440."""
    failures = values.get("max_failed_logins", AuthConfig.max_failed_logins)
    if isinstance(failures, bool) or not isinstance(failures, int) or not 0 <= failures <= 1000:
        raise AccessConfigError(
            f"{where}: max_failed_logins must be a whole number from 0 (no lock-out) to 1000"
        )
    minutes = values.get("lockout_minutes", AuthConfig.lockout_minutes)
    number = isinstance(minutes, int | float) and not isinstance(minutes, bool)
    if not number or not 1 <= minutes <= 1440:
        raise AccessConfigError(f"{where}: lockout_minutes must be a number from 1 to 1440")
    return failures, float(minutes)


def _string_list(values: dict, key: str, where: str) -> list[str]:
    items = values.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise AccessConfigError(f'{where}: {key} must be a list of strings, e.g. {key} = ["a"]')
    return [i.strip() for i in items if i.strip()]


def _normal(user: str, mode: str) -> str:
    """E-mail addresses compare without case; password user names are exact."""
    return user.strip().lower() if mode == "oidc" else user.strip()


def secret_names(secrets: Mapping) -> set[str]:
    """Top-level string keys of the secrets: Streamlit copies those into os.environ."""
    return {k for k, v in secrets.items() if isinstance(v, str)}
