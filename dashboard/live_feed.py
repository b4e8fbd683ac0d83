"""The live feed of a run: a small JSON endpoint that a live Train panel's charts poll every
POLL_MS, so watching a run needs no Streamlit rerun per update (a fragment rerun re-renders the
whole page in the browser, ~0.1-0.2 renderer CPU s on the Train page; bench/bench_tab_render.py).

GET <base>/tflab-api/live/<token>?v=<tag> answers {"same": true} while the run's drawn version
is still <tag>, else the payload: {"tag", "status", "active", "panel", "progress": {"fraction",
"text"}, "charts": [dashboard.live_chart.series() of every batch chart, loss first],
"last_step"}. "panel" changes when the rest of the panel must be redrawn (status, stop flag,
events, a picker's epoch): the chart then asks Streamlit for one rerun. One payload is built
per run version and shared by every viewer of this process (dashboard.run_watch).

A token is a random capability handed to a page that renders the run's panel (so only a
signed-in page ever learns it), renewed by each render and forgotten TOKEN_TTL_S after the last;
an unknown token gets 404. dashboard/serve.py mounts the route (st.App) and sets MOUNTED; without
it (AppTest, `streamlit run dashboard/app.py`) feed_url() is None and the panel polls with a
fragment instead.
"""

from __future__ import annotations

import json
import secrets
import threading
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.runs.store import Run, RunStore
from core.tasks.picker_summary import is_picker_model
from dashboard.run_watch import live_feed_series
from dashboard.widgets import progress_line

ROUTE = "/tflab-api/live/{token}"
POLL_MS = 500  # how often a shown tab asks; a hidden tab does not ask
SAME_FOR_S = 0.15  # a payload this fresh answers "same" to its own tag without a store read
TOKEN_TTL_S = 900.0
MAX_TOKENS = 2000
NO_STORE = {"Cache-Control": "no-store"}
MOUNTED = False  # set by dashboard/serve.py once the route is part of the server
BASE_PATH = ""  # server.baseUrlPath with a leading slash ("" at the root), set by serve.py

_LOCK = threading.Lock()
_TOKENS: dict[str, tuple[str, str, float]] = {}  # token -> (store path, run id, expiry)
_BY_RUN: dict[tuple[str, str], str] = {}
_STORES: dict[str, RunStore] = {}
_PAYLOADS: dict[tuple[str, str], tuple[str, bytes, float]] = {}  # -> (tag, JSON, built at)


def mounted() -> bool:
    """Whether this server has the feed's route (dashboard/serve.py)."""
    return MOUNTED


def feed_url(store: RunStore, run_id: str, now: float | None = None) -> str | None:
    """The URL path of run_id's feed for this page (its token renewed); None when not mounted."""
    if not MOUNTED:
        return None
    now = time.monotonic() if now is None else now
    key = (str(store.path), run_id)
    with _LOCK:
        for token, (_, _, expiry) in list(_TOKENS.items()):
            if expiry < now:
                _forget(token)
        token = _BY_RUN.get(key)
        if token is None:
            if len(_TOKENS) >= MAX_TOKENS:  # the oldest go first
                for old in sorted(_TOKENS, key=lambda t: _TOKENS[t][2])[: MAX_TOKENS // 2]:
                    _forget(old)
            token = secrets.token_urlsafe(18)
            _BY_RUN[key] = token
            _STORES.setdefault(key[0], store)
        _TOKENS[token] = (key[0], run_id, now + TOKEN_TTL_S)
    return BASE_PATH + ROUTE.replace("{token}", token)


def _forget(token: str) -> None:
    path, run_id, _ = _TOKENS.pop(token)
    _BY_RUN.pop((path, run_id), None)
    _PAYLOADS.pop((path, run_id), None)


def feed_endpoint(request: Request) -> Response:
    """The route's handler (sync: Starlette runs it in its thread pool, off the event loop)."""
    with _LOCK:
        entry = _TOKENS.get(request.path_params.get("token", ""))
        if entry is not None and entry[2] < time.monotonic():
            entry = None
        store = _STORES.get(entry[0]) if entry else None
    if entry is None or store is None:
        return JSONResponse({"error": "unknown or expired live feed"}, 404, headers=NO_STORE)
    try:
        body = payload(store, entry[1], request.query_params.get("v"))
    except Exception as err:  # noqa: BLE001 - a poll must not crash the server; say what failed
        return JSONResponse({"error": f"live feed failed: {err}"}, 503, headers=NO_STORE)
    if body is None:
        return JSONResponse({"error": "the run no longer exists"}, 404, headers=NO_STORE)
    return Response(body, media_type="application/json", headers=NO_STORE)


def payload(store: RunStore, run_id: str, seen_tag: str | None = None) -> bytes | None:
    """The feed's JSON for run_id ({"same": true} when seen_tag is still current); None when
    the run is gone."""
    key = (str(store.path), run_id)
    cached = _PAYLOADS.get(key)
    fresh = cached is not None and time.monotonic() - cached[2] < SAME_FOR_S
    if fresh and seen_tag == cached[0]:
        return b'{"same":true}'  # asked again within SAME_FOR_S: no store read
    run = store.get_run(run_id)
    if run is None:
        return None
    version, rows, charts = live_feed_series(store, run)
    tag_now = tag(version)
    if seen_tag == tag_now:
        return b'{"same":true}'
    cached = _PAYLOADS.get(key)
    if cached is not None and cached[0] == tag_now:
        return cached[1]
    fraction, text = progress_line(run, rows)
    body = json.dumps(
        {
            "tag": tag_now,
            "status": run.status,
            "active": run.is_active,
            "panel": panel_key(store, run),
            "progress": {"fraction": fraction, "text": text},
            "charts": charts,
            "last_step": charts[0]["last_step"] if charts else None,
        },
        separators=(",", ":"),
        allow_nan=False,
    ).encode()
    with _LOCK:
        _PAYLOADS[key] = (tag_now, body, time.monotonic())
    return body


def panel_key(store: RunStore, run: Run) -> str:
    """What the rest of the run panel shows: when it changes the page reruns the panel once."""
    parts = [run.status, run.stop_requested, bool(run.claimed), len(store.events(run.id))]
    if is_picker_model(run.model):
        parts.append(run.epoch)  # a picker's F1 chart is drawn per epoch by the panel
    return "|".join(str(p) for p in parts)


def tag(version: tuple) -> str:
    """A run_watch version as the feed's short string."""
    return "|".join(str(v) for v in version)
