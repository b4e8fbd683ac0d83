"""Whether this browser tab is in the background, so live views stop polling the server there.

A tiny inline component (Streamlit custom components v2, no build step) reports the page's
`document.visibilityState` when it changes. Hiding a tab reruns the page once; its fragments are
then drawn without a timer, so a background tab costs the server nothing until it is shown
again, which reruns the page and restarts the timers.
"""

from __future__ import annotations

import streamlit as st

_JS = """
export default function(component) {
  const { setStateValue } = component;
  const report = () => setStateValue("hidden", document.visibilityState === "hidden");
  document.addEventListener("visibilitychange", report);
  return () => document.removeEventListener("visibilitychange", report);
}
"""
_KEY = "tab-visibility"
_HIDDEN = "tab-hidden"


@st.cache_resource
def _component():
    return st.components.v2.component("tflab_tab_visibility", js=_JS)


def watch_tab_visibility() -> None:
    """Mount the reporter; called once per page run by dashboard/app.py, outside any fragment."""
    result = _component()(key=_KEY, default={"hidden": False}, on_hidden_change=_noop, height=0)
    st.session_state[_HIDDEN] = bool(getattr(result, "hidden", False))


def poll_every(seconds: float | None) -> float | None:
    """`seconds` for a fragment's run_every while the tab is shown; None (no timer) when hidden."""
    return None if st.session_state.get(_HIDDEN, False) else seconds


def _noop() -> None:
    """Streamlit reruns the page when the state changes; nothing else to do."""
