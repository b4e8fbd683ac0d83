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
from core.access.passwords import PasswordError, check_password, hash_password
from core.access.permissions import RunPermissionError, authorize, may_change, who_may
from core.access.secrets_file import list_users, remove_user, set_user

__all__ = [
    "SECRETS_ENV",
    "SECTION",
    "AccessConfigError",
    "AuthConfig",
    "PasswordError",
    "RunPermissionError",
    "authorize",
    "check_password",
    "hash_password",
    "list_users",
    "load_config",
    "may_change",
    "os_user",
    "parse_config",
    "read_secrets",
    "read_toml",
    "remove_user",
    "secret_names",
    "secrets_path",
    "set_user",
    "who_may",
]
