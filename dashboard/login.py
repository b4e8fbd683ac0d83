"""Login before any page runs, and who the current user is (see docs/security.md, "Login").

dashboard/app.py builds the navigation (hidden unless is_logged_in(), so the login page lists
no pages, yet the URL keeps the page and query a link asked for), then calls require_login()
before running the page: with login off (no [tflab_auth] settings) it does nothing; otherwise it
shows the password form (wrong passwords count towards a lock-out of that user name,
core/access/lockout.py) or the OpenID Connect button and stops the script until someone is
logged in. The user lives in st.session_state[USER_KEY], written only here; pages ask
current_user() and run_permission(run).
"""

from __future__ import annotations

import importlib.util

import streamlit as st

from core import access
from core.runs.store import Run

USER_KEY = "tflab-user"
WRONG = access.WRONG
NEEDS_AUTHLIB = (
    'mode = "oidc" needs the Authlib package on the server: '
    ".venv/bin/pip install 'Authlib>=1.3.2' (or streamlit[auth]), then restart the dashboard."
)
NEEDS_AUTH_SECTION = (
    'mode = "oidc" needs Streamlit\'s own [auth] section (redirect_uri, cookie_secret, '
    "client_id, client_secret, server_metadata_url) in .streamlit/secrets.toml."
)


def require_login() -> None:
    """Return when the user may see the app (login off, or logged in); else draw the login
    page and st.stop()."""
    config = _config_or_stop()
    if not config.enabled:
        return
    user = _password_user(config) if config.mode == "password" else _oidc_user(config)
    _sidebar(user, config)


def current_user() -> str:
    """Who is using this session: the logged-in user, or with login off the OS user (as on the
    CLI). "" (nobody, no rights) when login is on but nobody is logged in."""
    try:
        config = access.load_config()
    except access.AccessConfigError:
        return ""
    return access.os_user() if not config.enabled else _identify(config)


def is_logged_in() -> bool:
    """True if the app may be shown: login off, or someone allowed is logged in. Draws nothing."""
    try:
        config = access.load_config()
    except access.AccessConfigError:
        return False
    return not config.enabled or bool(_identify(config))


def _identify(config: access.AuthConfig) -> str:
    """The logged-in, still allowed user of this session, or ""."""
    if config.mode == "password":
        user = st.session_state.get(USER_KEY, "")
        return user if user in config.users else ""
    if not st.user.get("is_logged_in", False) or st.user.get("email_verified", True) is False:
        return ""
    email = str(st.user.get("email") or "").strip().lower()
    return email if email in config.allowed_emails else ""


def run_permission(run: Run) -> tuple[bool, str]:
    """(may the current user stop, resume, rename, tag, note or delete this run; if not, a
    tooltip saying who may)."""
    try:
        config = access.load_config()
    except access.AccessConfigError as err:
        return False, f"Login is misconfigured: {err}"
    if access.may_change(run.owner, current_user(), config):
        return True, ""
    return False, access.who_may(run.owner, config)


def _config_or_stop() -> access.AuthConfig:
    try:
        return access.load_config()
    except access.AccessConfigError as err:  # fail closed: never fall back to "no login"
        st.title("TF Lab")
        st.error(f"Login is misconfigured, so the dashboard is closed: {err}")
        st.stop()


def _login_header() -> None:
    st.title("TF Lab")
    st.caption("This lab server's dashboard: log in to watch, start and manage runs.")


def _password_user(config: access.AuthConfig) -> str:
    user = _identify(config)
    if user:
        return user
    st.session_state.pop(USER_KEY, None)  # a user removed from the secrets file is logged out
    _login_header()
    _, middle, _ = st.columns([1, 2, 1])
    with middle, st.form("tflab-login", clear_on_submit=True):
        st.subheader("Log in")
        name = st.text_input("User name", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary", icon=":material/login:")
    if submitted:
        name = name.strip()
        try:  # the lock-out is checked first; a wrong password counts towards it
            refused = access.try_login(config, name, password)
        except access.LockoutError as err:  # fail closed: no login without the lock-out
            refused = f"Login is not possible right now: {err}. Tell the server's admin."
        if not refused:
            st.session_state[USER_KEY] = name
            st.rerun()
        middle.error(refused)
    st.stop()


def authlib_installed() -> bool:
    return importlib.util.find_spec("authlib") is not None


def _streamlit_auth_configured() -> bool:
    return st.secrets.load_if_toml_exists() and "auth" in st.secrets


def _oidc_user(config: access.AuthConfig) -> str:
    if not _streamlit_auth_configured():
        st.title("TF Lab")
        st.error(NEEDS_AUTH_SECTION)
        st.stop()
    if not st.user.get("is_logged_in", False):
        _login_header()
        if not authlib_installed():
            st.error(NEEDS_AUTHLIB)
            st.stop()
        if st.button("Log in with your organisation account", type="primary"):
            st.login(config.provider or None)
        st.stop()
    email = _identify(config)
    if not email:
        _login_header()
        who = str(st.user.get("email") or "") or "This account"
        st.error(f"{who} may not use this server. Ask an admin to add it to allowed_emails.")
        if st.button("Log out", icon=":material/logout:"):
            st.logout()
        st.stop()
    st.session_state[USER_KEY] = email
    return email


def _sidebar(user: str, config: access.AuthConfig) -> None:
    with st.sidebar:
        admin = " (admin)" if config.is_admin(user) else ""
        st.caption(f"Logged in as **{user}**{admin}")
        if st.button("Log out", icon=":material/logout:", key="tflab-logout"):
            if config.mode == "oidc":
                st.logout()
            else:
                st.session_state.clear()  # nothing of this user stays for the next one
                st.rerun()
