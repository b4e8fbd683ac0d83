"""The live feed of a run: the JSON a live Train panel's charts follow, pushed over a WebSocket
(dashboard/live_push.py) or, where a socket fails, polled every POLL_MS from the GET route
here, so watching a run needs no Streamlit rerun per update (a fragment rerun re-renders the
whole page in the browser, ~0.1-0.2 renderer CPU s on the Train page; bench/bench_tab_render.py).

GET <base>/tflab-api/live/<token>?v=<tag> answers {"same": true} while the run's drawn version
is still <tag>, else the payload: {"tag", "status", "active", "panel", "progress": {"fraction",
"text"}, "charts": [dashboard.live_chart.series() of every batch chart, loss first],
"last_step"}. "panel" changes when the rest of the panel must be redrawn (status, stop flag,
events, a picker's epoch): the chart then asks Streamlit for one rerun. One payload is built
per run version (snapshot()) and shared by every viewer of this process and by the push
(dashboard.run_watch).

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
from typing import NamedTuple

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


class Snapshot(NamedTuple):
    """The feed's newest payload of a run: its tag, the JSON, and whether the run is live."""

    tag: str
    body: bytes
    active: bool


_LOCK = threading.Lock()
_TOKENS: dict[str, tuple[str, str, float]] = {}  # token -> (store path, run id, expiry)
_BY_RUN: dict[tuple[str, str], str] = {}
_STORES: dict[str, RunStore] = {}
_PAYLOADS: dict[tuple[str, str], Snapshot] = {}
_BUILT_AT: dict[tuple[str, str], float] = {}  # when a payload was last confirmed current
SAME = b'{"same":true}'


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
    _BUILT_AT.pop((path, run_id), None)


def lookup(token: str) -> tuple[RunStore, str] | None:
    """(store, run id) of a live token; None when it is unknown or expired."""
    with _LOCK:
        entry = _TOKENS.get(token)
        if entry is None or entry[2] < time.monotonic():
            return None
        store = _STORES.get(entry[0])
    return None if store is None else (store, entry[1])


def feed_endpoint(request: Request) -> Response:
    """The route's handler (sync: Starlette runs it in its thread pool, off the event loop)."""
    found = lookup(request.path_params.get("token", ""))
    if found is None:
        return JSONResponse({"error": "unknown or expired live feed"}, 404, headers=NO_STORE)
    try:
        body = payload(found[0], found[1], request.query_params.get("v"))
    except Exception as err:  # noqa: BLE001 - a poll must not crash the server; say what failed
        return JSONResponse({"error": f"live feed failed: {err}"}, 503, headers=NO_STORE)
    if body is None:
        return JSONResponse({"error": "the run no longer exists"}, 404, headers=NO_STORE)
    return Response(body, media_type="application/json", headers=NO_STORE)


def payload(store: RunStore, run_id: str, seen_tag: str | None = None) -> bytes | None:
    """The feed's JSON for run_id ({"same": true} when seen_tag is still current); None when
    the run is gone."""
    cached = _PAYLOADS.get((str(store.path), run_id))
    if cached is not None and seen_tag == cached.tag:
        if time.monotonic() - cached_at(store, run_id) < SAME_FOR_S:
            return SAME  # asked again within SAME_FOR_S: no store read
    now = snapshot(store, run_id)
    if now is None:
        return None
    return SAME if seen_tag == now.tag else now.body


def snapshot(store: RunStore, run_id: str) -> Snapshot | None:
    """run_id's payload now (read from the store; built once per version, shared by every
    viewer and by dashboard.live_push); None when the run is gone."""
    key = (str(store.path), run_id)
    run = store.get_run(run_id)
    if run is None:
        return None
    version, rows, charts = live_feed_series(store, run)
    tag_now = tag(version)
    cached = _PAYLOADS.get(key)
    if cached is not None and cached.tag == tag_now:
        with _LOCK:
            _BUILT_AT[key] = time.monotonic()
        return cached
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
    built = Snapshot(tag_now, body, run.is_active)
    with _LOCK:
        _PAYLOADS[key] = built
        _BUILT_AT[key] = time.monotonic()
    return built


def drop_cached(store: RunStore, run_id: str) -> None:
    """Forget run_id's cached payload (a run nobody follows any more)."""
    with _LOCK:
        _PAYLOADS.pop((str(store.path), run_id), None)
        _BUILT_AT.pop((str(store.path), run_id), None)


def cached_at(store: RunStore, run_id: str) -> float:
    """When run_id's cached payload was last confirmed current (time.monotonic())."""
    return _BUILT_AT.get((str(store.path), run_id), float("-inf"))


def panel_key(store: RunStore, run: Run) -> str:
    """What the rest of the run panel shows: when it changes the page reruns the panel once."""
    parts = [run.status, run.stop_requested, bool(run.claimed), len(store.events(run.id))]
    if is_picker_model(run.model):
        parts.append(run.epoch)  # a picker's F1 chart is drawn per epoch by the panel
    return "|".join(str(p) for p in parts)


def tag(version: tuple) -> str:
    """A run_watch version as the feed's short string."""
    return "|".join(str(v) for v in version)
