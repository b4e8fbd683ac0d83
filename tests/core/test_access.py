"""core.access: login settings, password hashes, the secrets file, who may change a run, and the
server defaults in .streamlit/config.toml.

`login_settings` is shared with the page, CLI and browser tests: it writes a secrets file (cheap
bcrypt hashes, cost 4) that TFLAB_SECRETS points at, so no test reads the real one.
"""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import bcrypt
import pytest

from core import access, paths
from core.access import passwords
from core.access.config import parse_config
from core.config import RunConfig
from core.runs.queries import delete_run_with_artifacts
from core.runs.store import RunStore
from tests.conftest import TINY

REPO = Path(__file__).resolve().parents[2]


def login_settings(
    path: Path,
    mode: str = "password",
    users: dict[str, str] | None = None,
    admins: tuple[str, ...] = (),
    emails: tuple[str, ...] = (),
    before: str = "",
) -> Path:
    """Write a secrets file with a [tflab_auth] table; users maps names to plain passwords."""
    lines = [
        before,
        "[tflab_auth]",
        f'mode = "{mode}"',
        f"admins = {json.dumps(list(admins))}",
        f"allowed_emails = {json.dumps(list(emails))}",
        "",
        "[tflab_auth.users]",
    ]
    for name, password in (users or {}).items():
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
        lines.append(f'"{name}" = "{hashed}"')
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def secrets(tmp_path, monkeypatch) -> Path:
    """An empty secrets file (login off) that TFLAB_SECRETS points at; tests fill it."""
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv(access.SECRETS_ENV, str(path))
    for variable in ("TFLAB_AUTH_MODE", "TFLAB_AUTH_ADMINS", "TFLAB_AUTH_ALLOWED_EMAILS"):
        monkeypatch.delenv(variable, raising=False)
    return path


# ---- settings ---------------------------------------------------------------------------------
def test_no_settings_means_login_off(secrets):
    config = access.load_config()
    assert config.mode == "off" and not config.enabled
    assert config.users == {} and config.admins == frozenset()


def test_without_tflab_secrets_the_streamlit_files_are_read_later_wins(
    tmp_path, monkeypatch, secrets
):
    monkeypatch.delenv(access.SECRETS_ENV)
    home, checkout = tmp_path / "home", tmp_path / "checkout"
    (home / ".streamlit").mkdir(parents=True)
    (checkout / ".streamlit").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(paths, "home", lambda: checkout)
    assert access.load_config().mode == "off"  # neither file exists yet
    login_settings(home / ".streamlit/secrets.toml", users={"alice": "password-1"})
    assert access.load_config().users.keys() == {"alice"}
    login_settings(checkout / ".streamlit/secrets.toml", users={"bob": "password-2"})
    config = access.load_config()
    assert config.users.keys() == {"bob"}  # the checkout's [tflab_auth] replaces the home one
    assert str(checkout) in config.source and str(home) in config.source
    assert access.secrets_path() == checkout / ".streamlit/secrets.toml"


def test_a_missing_tflab_secrets_file_is_an_error_not_login_off(tmp_path, monkeypatch):
    monkeypatch.setenv(access.SECRETS_ENV, str(tmp_path / "typo.toml"))
    with pytest.raises(access.AccessConfigError, match="typo.toml, which is not a file"):
        access.load_config()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tflab_auth\nmode=", "is not valid TOML"),
        ('[tflab_auth]\nadmins = ["a"]\n', "mode must be one of 'off', 'password', 'oidc', not"),
        ('[tflab_auth]\nmode = "ldap"\n', "not 'ldap'"),
        ('[tflab_auth]\nmode = "password"\n', "there are no users; add one with"),
        (
            '[tflab_auth]\nmode = "password"\n[tflab_auth.users]\nalice = "hunter2"\n',
            "the password of user 'alice' is not a bcrypt hash; set it with: python -m core users",
        ),
        ('[tflab_auth]\nmode = "oidc"\n', "allowed_emails is empty, so nobody could log in"),
        ('[tflab_auth]\nmode = "off"\nadmins = "alice"\n', "admins must be a list of strings"),
        ('tflab_auth = "password"\n', "must be a table"),
    ],
)
def test_unusable_settings_say_what_to_fix(secrets, text, message):
    secrets.write_text(text)
    with pytest.raises(access.AccessConfigError) as err:
        access.load_config()
    assert message in str(err.value)
    assert str(secrets) in str(err.value)


def test_environment_overrides_mode_admins_and_emails(secrets, monkeypatch):
    login_settings(secrets, users={"alice": "password-1"}, admins=("alice",))
    assert access.load_config().admins == {"alice"}
    monkeypatch.setenv("TFLAB_AUTH_ADMINS", "bob, carol")
    assert access.load_config().admins == {"bob", "carol"}
    monkeypatch.setenv("TFLAB_AUTH_MODE", "off")
    assert not access.load_config().enabled
    monkeypatch.setenv("TFLAB_AUTH_MODE", "oidc")
    monkeypatch.setenv("TFLAB_AUTH_ALLOWED_EMAILS", "Alice@Lab.org,bob@lab.org")
    config = access.load_config()
    assert config.mode == "oidc" and config.allowed_emails == {"alice@lab.org", "bob@lab.org"}


def test_oidc_addresses_and_admins_compare_without_case():
    config = parse_config(
        {"mode": "oidc", "allowed_emails": ["Alice@Lab.org"], "admins": ["ALICE@lab.org"]}, "x", {}
    )
    assert config.allowed_emails == {"alice@lab.org"}
    assert config.is_admin("alice@LAB.org") and not config.is_admin("bob@lab.org")
    strict = parse_config({"mode": "off", "admins": ["Alice"]}, "x", {})
    assert strict.is_admin("Alice") and not strict.is_admin("alice") and not strict.is_admin("")


# ---- passwords --------------------------------------------------------------------------------
def test_hash_then_check():
    hashed = access.hash_password("correct horse")
    assert hashed.startswith("$2b$12$") and "correct horse" not in hashed
    assert access.hash_password("correct horse") != hashed  # salted
    config = access.AuthConfig(mode="password", users={"alice": hashed})
    assert access.check_password(config, "alice", "correct horse")
    assert not access.check_password(config, "alice", "correct horsE")
    assert not access.check_password(config, "alice", "")
    assert not access.check_password(config, "Alice", "correct horse")


@pytest.mark.parametrize(
    ("password", "message"), [("short", "at least 8 characters"), ("é" * 37, "at most 72 bytes")]
)
def test_unusable_new_passwords(password, message):
    with pytest.raises(access.PasswordError, match=message):
        access.hash_password(password)


def test_one_bcrypt_check_whether_or_not_the_user_exists(monkeypatch):
    config = access.AuthConfig(
        mode="password", users={"alice": bcrypt.hashpw(b"password-1", bcrypt.gensalt(4)).decode()}
    )
    calls = []
    real = bcrypt.checkpw

    def spy(password, hashed):
        calls.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(passwords.bcrypt, "checkpw", spy)
    assert not access.check_password(config, "mallory", "password-1")
    assert calls == [passwords._DUMMY_HASH]  # the unknown name still costs a full check
    assert not access.check_password(config, "", "password-1")
    assert len(calls) == 2
    assert not access.check_password(config, "alice", "wrong-password")
    assert access.check_password(config, "alice", "password-1")
    assert calls[2:] == [config.users["alice"].encode()] * 2
    # the dummy costs what a real hash costs (gensalt's default rounds)
    assert passwords._DUMMY_HASH[:7] == bcrypt.gensalt()[:7] == b"$2b$12$"


def test_a_password_longer_than_bcrypt_reads_never_matches():
    stem = "x" * 72
    config = access.AuthConfig(
        mode="password", users={"alice": bcrypt.hashpw(stem.encode(), bcrypt.gensalt(4)).decode()}
    )
    assert access.check_password(config, "alice", stem)
    assert not access.check_password(config, "alice", stem + "anything")


# ---- the secrets file -------------------------------------------------------------------------
OTHER = """# lab server secrets
db_url = "postgres://x"  # keep me

[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
cookie_secret = "s3cret"
"""


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_set_user_creates_a_private_file(tmp_path):
    path = tmp_path / "new" / "secrets.toml"
    assert access.set_user(path, "alice", access.hash_password("password-1")) is True
    assert mode_of(path) == 0o600
    data = tomllib.loads(path.read_text())
    assert data["tflab_auth"]["mode"] == "password" and data["tflab_auth"]["admins"] == []
    config = parse_config(data["tflab_auth"], str(path), {})
    assert access.check_password(config, "alice", "password-1")
    assert access.list_users(path) == ["alice"]


def test_set_user_keeps_the_rest_of_the_file(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text(OTHER)
    path.chmod(0o644)
    access.set_user(path, "alice", access.hash_password("password-1"))
    assert path.read_text().startswith(OTHER)  # every byte of it, comments included
    assert mode_of(path) == 0o600  # tightened
    first = path.read_text()
    assert access.set_user(path, "bob", access.hash_password("password-2")) is True
    assert access.set_user(path, "alice", access.hash_password("password-3")) is False
    text = path.read_text()
    assert len(text.splitlines()) == len(first.splitlines()) + 1  # alice's line was replaced
    data = tomllib.loads(text)
    assert data["db_url"] == "postgres://x" and data["auth"]["cookie_secret"] == "s3cret"
    config = parse_config(data["tflab_auth"], str(path), {})
    assert access.check_password(config, "alice", "password-3")
    assert not access.check_password(config, "alice", "password-1")
    assert access.list_users(path) == ["alice", "bob"]
    access.remove_user(path, "alice")
    assert access.list_users(path) == ["bob"]
    assert tomllib.loads(path.read_text())["auth"] == data["auth"]
    with pytest.raises(ValueError, match="no user 'alice'"):
        access.remove_user(path, "alice")


def test_a_user_goes_into_the_users_table_even_when_another_table_follows(tmp_path):
    path = login_settings(tmp_path / "secrets.toml", users={"alice": "password-1"})
    path.write_text(path.read_text() + "\n[auth]\ncookie_secret = 'x'\n")
    access.set_user(path, "bob", access.hash_password("password-2"))
    data = tomllib.loads(path.read_text())
    assert set(data["tflab_auth"]["users"]) == {"alice", "bob"}
    assert data["auth"] == {"cookie_secret": "x"}


def test_users_that_are_not_a_plain_table_are_left_alone(tmp_path):
    path = tmp_path / "secrets.toml"
    inline = '[tflab_auth]\nmode = "password"\nusers = { alice = "x" }\n'
    path.write_text(inline)
    with pytest.raises(access.AccessConfigError, match="edit it by hand"):
        access.set_user(path, "bob", access.hash_password("password-2"))
    assert path.read_text() == inline
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secrets.toml"]  # no temporary left


@pytest.mark.parametrize("name", ["", "a b", "-x", 'a"b', "a]", "x" * 65])
def test_user_names_are_checked(tmp_path, name):
    with pytest.raises(ValueError, match="is not a usable user name"):
        access.set_user(tmp_path / "s.toml", name, access.hash_password("password-1"))
    assert not (tmp_path / "s.toml").exists()


# ---- who may change a run ---------------------------------------------------------------------
OFF = access.AuthConfig()
ON = access.AuthConfig(mode="password", users={"alice": "h"}, admins=frozenset({"root"}))


@pytest.mark.parametrize(
    ("owner", "user", "config", "allowed"),
    [
        ("alice", "alice", ON, True),
        ("alice", "bob", ON, False),
        ("alice", "root", ON, True),  # an admin
        ("alice", "", ON, False),  # nobody logged in
        ("", "bob", ON, False),  # a run from before owners: only admins once login is on
        ("", "root", ON, True),
        ("", "bob", OFF, True),  # ... and anyone while login is off
        ("alice", "bob", OFF, False),  # owners count with login off too (the OS user)
    ],
)
def test_may_change(owner, user, config, allowed):
    assert access.may_change(owner, user, config) is allowed


def test_the_refusal_says_who_may():
    with pytest.raises(access.RunPermissionError) as err:
        access.authorize("run-1", "alice", "delete", "bob", ON)
    assert isinstance(err.value, PermissionError)
    assert str(err.value) == (
        "bob may not delete run run-1. Only its owner alice or an admin (root) may change this run."
    )
    with pytest.raises(access.RunPermissionError, match="no owner .* only an admin \\(root\\)"):
        access.authorize("run-2", "", "stop", "bob", ON)
    access.authorize("run-2", "", "stop", "root", ON)  # no error


def test_the_cli_user_is_the_os_user(secrets, monkeypatch):
    monkeypatch.setattr(access.config.getpass, "getuser", lambda: "carol")
    assert access.os_user() == "carol"
    access.authorize("run-1", "carol", "stop")
    with pytest.raises(access.RunPermissionError, match="^carol may not stop run run-1"):
        access.authorize("run-1", "alice", "stop")


def test_delete_is_refused_in_core_for_someone_else(secrets, runs_root):
    login_settings(secrets, users={"alice": "password-1", "bob": "password-2"}, admins=("root",))
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run(RunConfig(**TINY).to_dict(), owner="alice")
    (runs_root / run_id).mkdir()
    store.set_status(run_id, "succeeded")
    with pytest.raises(access.RunPermissionError, match="bob may not delete run"):
        delete_run_with_artifacts(store, run_id, runs_root, user="bob")
    assert store.get_run(run_id) is not None and (runs_root / run_id).is_dir()
    delete_run_with_artifacts(store, run_id, runs_root, user="root")
    assert store.get_run(run_id) is None and not (runs_root / run_id).exists()


# ---- server defaults --------------------------------------------------------------------------
def test_server_defaults_stay_on():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert 0 < config["server"]["maxUploadSize"] <= 50  # MiB
    assert config["client"]["showErrorDetails"] == "none"
    assert config["browser"]["gatherUsageStats"] is False


def test_the_real_secrets_file_is_ignored_by_git():
    ignored = (REPO / ".gitignore").read_text().split()
    assert ".streamlit/secrets.toml" in ignored
