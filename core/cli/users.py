"""`python -m core users {add,list,remove,unlock}`: the password logins of the dashboard.

Hashes (bcrypt) go into the `[tflab_auth.users]` table of the secrets file ($TFLAB_SECRETS, else
<checkout>/.streamlit/secrets.toml, or --secrets PATH); the rest of the file stays as it was.
`unlock` ends a lock-out after failed logins (runs/login_attempts.sqlite, core/access/lockout.py).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from core.access import (
    SECTION,
    AccessConfigError,
    AuthConfig,
    LockoutPolicy,
    LoginAttempts,
    hash_password,
    list_users,
    minutes_text,
    parse_config,
    read_toml,
    remove_user,
    secrets_path,
    set_user,
)


def add_user_commands(sub) -> None:
    users = sub.add_parser(
        "users", help="password logins of the dashboard (add, list, remove, unlock)"
    )
    commands = users.add_subparsers(dest="users_command", required=True)

    p = commands.add_parser("add", help="add a user or change their password")
    p.add_argument("name")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin instead of asking for it",
    )
    _secrets_option(p)
    p.set_defaults(func=cmd_users_add)

    p = commands.add_parser("list", help="the user names (never their hashes)")
    p.add_argument("--json", action="store_true")
    _secrets_option(p)
    p.set_defaults(func=cmd_users_list)

    p = commands.add_parser("remove", help="remove a user")
    p.add_argument("name")
    _secrets_option(p)
    p.set_defaults(func=cmd_users_remove)

    p = commands.add_parser("unlock", help="end a user name's lock-out after failed logins")
    p.add_argument("name")
    p.set_defaults(func=cmd_users_unlock)


def _secrets_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--secrets",
        type=Path,
        default=None,
        help="secrets file (default: $TFLAB_SECRETS, else .streamlit/secrets.toml of the checkout)",
    )


def cmd_users_add(args) -> int:
    path = args.secrets or secrets_path()
    password = _read_password(args.password_stdin)
    added = set_user(path, args.name, hash_password(password))
    done = f"added user {args.name} to" if added else f"changed the password of {args.name} in"
    print(f"{done} {path} (mode 0600)")
    _warn_if_not_password_mode(path)
    return 0


def cmd_users_list(args) -> int:
    path = args.secrets or secrets_path()
    admins = _admins(path)
    names = list_users(path)
    locked = LoginAttempts(LockoutPolicy()).locked_names()
    if args.json:
        rows = [{"name": n, "admin": n in admins, "locked": n in locked} for n in names]
        print(json.dumps(rows, indent=2))
    elif not names:
        print(f"no users in {path} (add one with: python -m core users add NAME)")
    else:
        for name in names:
            marks = ["admin"] if name in admins else []
            if name in locked:
                marks.append(f"locked for {minutes_text(locked[name])}")
            print(f"{name}  ({', '.join(marks)})" if marks else name)
    return 0


def cmd_users_remove(args) -> int:
    path = args.secrets or secrets_path()
    remove_user(path, args.name)
    print(f"removed user {args.name} from {path}")
    return 0


def cmd_users_unlock(args) -> int:
    attempts = LoginAttempts(LockoutPolicy())
    if attempts.clear(args.name):
        print(f"unlocked {args.name}: failed logins forgotten ({attempts.path})")
    else:
        print(f"{args.name} was not locked and had no failed logins ({attempts.path})")
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise ValueError("no password on stdin")
        return password
    if not sys.stdin.isatty():
        raise ValueError("no terminal to ask for the password: pipe it in with --password-stdin")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise ValueError("the two passwords differ; nothing was changed")
    return password


def _admins(path: Path) -> set[str]:
    try:
        config = _config_of(path)
    except AccessConfigError:
        return set()
    return set(config.admins)


def _config_of(path: Path) -> AuthConfig:
    """The login settings as the dashboard reads them from this file (with $TFLAB_AUTH_*)."""
    section = read_toml(path).get(SECTION, {}) if path.is_file() else {}
    return parse_config(section if isinstance(section, dict) else {}, str(path), os.environ)


def _warn_if_not_password_mode(path: Path) -> None:
    try:
        mode = _config_of(path).mode
    except AccessConfigError as err:
        print(f"note: the login settings are not usable yet: {err}", file=sys.stderr)
        return
    if mode != "password":
        print(
            f'note: [tflab_auth] mode is "{mode}": password users only log in with mode = '
            '"password"',
            file=sys.stderr,
        )
