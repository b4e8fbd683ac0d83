"""Login and run ownership, without Streamlit: settings, password hashes, the secrets file and
who may change a run. The dashboard's login form is dashboard/login.py; the CLI is
`python -m core users` (core/cli/users.py). See docs/security.md, "Login".
"""

from core.access.config import (
    SECRETS_ENV,
    SECTION,
    AccessConfigError,
    AuthConfig,
    load_config,
    os_user,
    parse_config,
    read_secrets,
    read_toml,
    secret_names,
    secrets_path,
)
from core.access.lockout import (
    LockoutError,
    LockoutPolicy,
    LoginAttempts,
    attempts_path,
    minutes_text,
)
from core.access.passwords import (
    WRONG,
    PasswordError,
    check_password,
    hash_password,
    locked_message,
    try_login,
)
from core.access.permissions import RunPermissionError, authorize, may_change, who_may
from core.access.secrets_file import list_users, remove_user, set_user

__all__ = [
    "SECRETS_ENV",
    "SECTION",
    "WRONG",
    "AccessConfigError",
    "AuthConfig",
    "LockoutError",
    "LockoutPolicy",
    "LoginAttempts",
    "PasswordError",
    "RunPermissionError",
    "attempts_path",
    "authorize",
    "check_password",
    "hash_password",
    "list_users",
    "load_config",
    "locked_message",
    "may_change",
    "minutes_text",
    "os_user",
    "parse_config",
    "read_secrets",
    "read_toml",
    "remove_user",
    "secret_names",
    "secrets_path",
    "set_user",
    "try_login",
    "who_may",
]
