"""dashboard/login.py through the real entry script: login off, the password form, the lock-out
after failed logins, OpenID Connect (st.user seeded by AppTest: allowed, refused, not configured,
and the address as the owner of a run started from Train), log out, a misconfiguration, and
Stop/Resume for someone else's run.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import access
from core.runs import launcher, scheduler
from core.runs.store import RunStore
from dashboard import login, run_panel
from tests.conftest import TINY
from tests.core.test_access import login_settings
from tests.pages.helpers import widget

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
OIDC_AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-test-cookie-secret",
    "client_id": "id",
    "client_secret": "secret",
    "server_metadata_url": "https://id.example.org/.well-known/openid-configuration",
}


@pytest.fixture
def secrets(tmp_path, monkeypatch, runs_root) -> Path:
    """An empty secrets file (login off) that TFLAB_SECRETS points at; tests fill it."""
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv(access.SECRETS_ENV, str(path))
    return path


@pytest.fixture
def password_login(secrets) -> Path:
    users = {"alice": "alice-password", "bob": "bob-password", "root": "root-password"}
    return login_settings(secrets, users=users, admins=("root",))


def start(**state) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    for key, value in state.items():
        at.session_state[key] = value
    return rerun(at)


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def submit(at: AppTest, name: str, password: str) -> AppTest:
    widget(at.text_input, "User name").input(name)
    widget(at.text_input, "Password").input(password)
    widget(at.button, "Log in").click()
    return rerun(at)


def on_home(at: AppTest) -> bool:
    return "Latest runs" in [s.value for s in at.subheader]


def sidebar_text(at: AppTest) -> list[str]:
    return [c.value for c in at.sidebar.caption]


def test_login_off_shows_the_app_as_before(secrets):
    at = start(**{login.USER_KEY: "mallory"})  # ignored: with login off the user is the OS user
    assert on_home(at)
    assert len(at.text_input) == 0 and sidebar_text(at) == []
    assert [b.label for b in at.sidebar.button] == []
    assert [p.label for p in at.page_link] == [
        "Look at the data",
        "Augmentations",
        "Train a model",
        "Compare runs",
        "Predict",
    ]
    assert login.current_user() == access.os_user()


def test_the_login_form_stops_everything_else(password_login):
    at = start()
    assert [t.value for t in at.title] == ["TF Lab"]
    assert [w.label for w in at.text_input] == ["User name", "Password"]
    assert widget(at.text_input, "Password").proto.type == 1  # PASSWORD: typed text is hidden
    assert not on_home(at) and len(at.page_link) == 0 and len(at.dataframe) == 0
    assert len(at.error) == 0


@pytest.mark.parametrize(
    ("name", "password"),
    [
        ("alice", "bob-password"),
        ("nobody", "alice-password"),
        ("", ""),
        ("ALICE", "alice-password"),
    ],
)
def test_wrong_name_or_password_one_message(password_login, name, password):
    at = submit(start(), name, password)
    assert [e.value for e in at.error] == [login.WRONG]
    assert not on_home(at)
    assert login.USER_KEY not in at.session_state


def test_log_in_then_out(password_login):
    at = submit(start(), " alice ", "alice-password")
    assert on_home(at)
    assert at.session_state[login.USER_KEY] == "alice"
    assert sidebar_text(at) == ["Logged in as **alice**"]
    assert len(at.error) == 0
    widget(at.sidebar.button, "Log out").click()
    rerun(at)
    assert not on_home(at)
    assert [w.label for w in at.text_input] == ["User name", "Password"]
    assert login.USER_KEY not in at.session_state


def test_an_admin_is_marked_and_a_removed_user_is_logged_out(password_login):
    users = {"root": "root-password", "bob": "bob-password"}
    login_settings(password_login, users=users, admins=("root",))
    at = submit(start(), "root", "root-password")
    assert sidebar_text(at) == ["Logged in as **root** (admin)"]
    access.remove_user(password_login, "root")
    rerun(at)
    assert not on_home(at) and [w.label for w in at.text_input] == ["User name", "Password"]


# ---- lock-out after failed logins ---------------------------------------------------------------
def test_five_wrong_passwords_lock_the_name_across_sessions(password_login, runs_root):
    at = start()
    for _ in range(4):
        assert [e.value for e in submit(at, "alice", "nope-nope").error] == [login.WRONG]
    (error,) = submit(at, "alice", "nope-nope").error
    locked = error.value
    assert locked.startswith("Too many failed logins for alice: this user name is locked for 15")
    assert "python -m core users unlock alice" in locked
    # the right password no longer gets in: in this session, or in a new one (another tab)
    assert [e.value for e in submit(at, "alice", "alice-password").error] == [locked]
    other = submit(start(), "alice", "alice-password")
    assert [e.value for e in other.error] == [locked] and not on_home(other)
    assert (runs_root / "login_attempts.sqlite").is_file()
    # other names are not touched; an admin's unlock lets alice in again
    assert on_home(submit(start(), "bob", "bob-password"))
    assert access.LoginAttempts(access.load_config().lockout).clear("alice")
    assert on_home(submit(other, "alice", "alice-password"))


LOCK_2_IN_3 = "max_failed_logins = 2\nlockout_minutes = 3\n"


def test_lockout_settings_from_the_secrets_file(secrets):
    login_settings(secrets, users={"alice": "alice-password"})
    text = secrets.read_text().replace("[tflab_auth]\n", "[tflab_auth]\n" + LOCK_2_IN_3, 1)
    secrets.write_text(text)
    at = start()
    assert [e.value for e in submit(at, "alice", "wrong-one").error] == [login.WRONG]
    (error,) = submit(at, "alice", "wrong-two").error
    assert "locked for 3 more minutes" in error.value


def test_misconfigured_login_closes_the_dashboard(secrets):
    secrets.write_text('[tflab_auth]\nmode = "password"\n')
    at = start()
    (error,) = at.error
    assert error.value.startswith("Login is misconfigured, so the dashboard is closed: ")
    assert "there are no users" in error.value
    assert not on_home(at) and len(at.text_input) == 0


# ---- OpenID Connect ---------------------------------------------------------------------------
@pytest.fixture
def oidc(secrets) -> Path:
    return login_settings(
        secrets, mode="oidc", emails=("Alice@Lab.org", "bob@lab.org"), admins=("bob@lab.org",)
    )


def start_oidc(user: dict, auth: dict | None = OIDC_AUTH) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    if auth is not None:
        at.secrets["auth"] = auth
    at.user = user
    return rerun(at)


def test_oidc_needs_streamlits_auth_section(oidc):
    at = start_oidc({}, auth=None)
    assert [e.value for e in at.error] == [login.NEEDS_AUTH_SECTION]
    assert not on_home(at)


def test_oidc_login_button_or_what_is_missing(oidc, monkeypatch):
    monkeypatch.setattr(login, "authlib_installed", lambda: False)
    at = start_oidc({"is_logged_in": False})
    assert [e.value for e in at.error] == [login.NEEDS_AUTHLIB]
    assert len(at.button) == 0 and not on_home(at)
    monkeypatch.setattr(login, "authlib_installed", lambda: True)
    at = start_oidc({"is_logged_in": False})
    assert [b.label for b in at.button] == ["Log in with your organisation account"]
    assert len(at.error) == 0 and not on_home(at)


def test_oidc_has_authlib_from_the_lock(oidc):
    """Authlib is a dependency (requirements.lock): nothing to install by hand."""
    assert login.authlib_installed()
    at = start_oidc({"is_logged_in": False})
    assert [b.label for b in at.button] == ["Log in with your organisation account"]
    assert len(at.error) == 0


def test_oidc_allowed_address_gets_in(oidc):
    at = start_oidc({"is_logged_in": True, "email": "ALICE@lab.org", "name": "Alice"})
    assert on_home(at)
    assert at.session_state[login.USER_KEY] == "alice@lab.org"
    assert sidebar_text(at) == ["Logged in as **alice@lab.org**"]
    at = start_oidc({"is_logged_in": True, "email": "bob@lab.org", "email_verified": True})
    assert sidebar_text(at) == ["Logged in as **bob@lab.org** (admin)"]


@pytest.mark.parametrize(
    "user",
    [
        {"is_logged_in": True, "email": "mallory@lab.org"},
        {"is_logged_in": True, "email": "alice@lab.org", "email_verified": False},
        {"is_logged_in": True},
    ],
)
def test_oidc_others_are_refused_and_may_log_out(oidc, user):
    at = start_oidc(user)
    (error,) = at.error
    assert error.value.endswith(
        "may not use this server. Ask an admin to add it to allowed_emails."
    )
    assert [b.label for b in at.button] == ["Log out"]
    assert not on_home(at) and login.USER_KEY not in at.session_state


def test_oidc_address_owns_the_runs_it_starts(oidc, runs_root, monkeypatch):
    monkeypatch.setattr(launcher, "_spawn", lambda store, run_id, root: None)  # no worker
    monkeypatch.setattr(scheduler, "ensure_scheduler", lambda root: False)  # nor scheduler
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.secrets["auth"] = OIDC_AUTH
    at.user = {"is_logged_in": True, "email": "Alice@LAB.org"}
    at.switch_page("../pages/train.py")
    rerun(at)
    at.form_submit_button[0].click()
    rerun(at)
    (run,) = RunStore(runs_root / "runs.sqlite").list_runs()
    assert run.owner == "alice@lab.org"
    assert any("owner alice@lab.org" in c.value for c in at.caption)


# ---- the run panel: Stop and Resume only for the owner or an admin ----------------------------
def open_panel(run_id: str, user: str) -> AppTest:
    """The Train page's run panel (dashboard/run_panel.py) of one run, logged in as `user`."""
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state[login.USER_KEY] = user
    at.query_params["run"] = run_id
    at.switch_page("../pages/train.py")
    return rerun(at)


def test_stop_and_resume_are_for_the_owner(password_login, runs_root, monkeypatch):
    store = RunStore(runs_root / "runs.sqlite")
    live = store.create_run(dict(TINY), owner="alice")
    store.mark_started(live, os.getpid())
    with sqlite3.connect(store.path) as db:  # never stale, however slow the machine is
        db.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time() + 3600, live))
    at = open_panel(live, "bob")
    assert any("owner alice" in c.value for c in at.caption)
    stop = widget(at.button, "Stop")
    assert stop.disabled
    assert stop.help == "Only its owner alice or an admin (root) may change this run."
    assert not widget(open_panel(live, "alice").button, "Stop").disabled

    # the button is only a hint: with a page that wrongly offered it, core still refuses
    with monkeypatch.context() as patch:
        patch.setattr(run_panel, "run_permission", lambda run: (True, ""))
        at = open_panel(live, "bob")
        widget(at.button, "Stop").click()
        rerun(at)
    assert not store.stop_requested(live)
    assert [e.value for e in at.error] == [
        f"bob may not stop run {live}. Only its owner alice or an admin (root) may change this run."
    ]

    store.set_status(live, "interrupted")
    resume = widget(open_panel(live, "bob").button, "Resume")
    assert resume.disabled and "Only its owner alice" in resume.help
    assert not widget(open_panel(live, "root").button, "Resume").disabled
