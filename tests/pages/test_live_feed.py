"""dashboard/live_feed.py: the JSON feed a live run's charts poll (tokens, payload, route) and
the Train page's panel in feed mode (the charts follow the feed; no per-second fragment).
The drawing and the polling in a real browser: tests/browser/test_live_feed_browser.py."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from starlette.requests import Request
from streamlit.testing.v1 import AppTest

from core.runs.store import RunStore
from dashboard import live_feed, run_watch
from tests.conftest import TINY
from tests.pages.helpers import live_worker

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"


@pytest.fixture
def mounted(monkeypatch):
    """The feed's route as if dashboard/serve.py had mounted it (and no token left over)."""
    monkeypatch.setattr(live_feed, "MOUNTED", True)
    for registry in (
        live_feed._TOKENS,
        live_feed._BY_RUN,
        live_feed._PAYLOADS,
        live_feed._BUILT_AT,
    ):
        registry.clear()
    yield
    for registry in (
        live_feed._TOKENS,
        live_feed._BY_RUN,
        live_feed._PAYLOADS,
        live_feed._BUILT_AT,
    ):
        registry.clear()


def live_run(store: RunStore, steps=(1, 2, 3, 4)) -> str:
    run_id = store.create_run(dict(TINY, epochs=3))
    store.mark_started(run_id, 1)
    run_watch.forget(store, run_id)
    rows = [(s, 0, time.time(), {"loss": 2.0 / s, "accuracy": s / 20}) for s in steps]
    store.add_batch_metrics(run_id, rows)
    store.set_progress(run_id, 0, steps[-1], 10)
    return run_id


def get(url_path: str, seen: str | None = None):
    """The route's handler called as Starlette would, on `url_path` (?v=seen)."""
    token = url_path.rsplit("/", 1)[1]
    scope = {
        "type": "http",
        "method": "GET",
        "path": url_path,
        "path_params": {"token": token},
        "query_string": f"v={seen}".encode() if seen is not None else b"",
        "headers": [],
    }
    response = live_feed.feed_endpoint(Request(scope))
    return response.status_code, json.loads(response.body)


def test_no_feed_url_without_the_route(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    assert live_feed.MOUNTED is False  # AppTest and `streamlit run dashboard/app.py`
    assert live_feed.feed_url(store, "any") is None


def test_a_token_per_run_that_expires_and_then_is_refused(runs_root, mounted):
    store = RunStore(runs_root / "runs.sqlite")
    first = live_feed.feed_url(store, "run-a", now=100.0)
    assert first.startswith("/tflab-api/live/") and len(first.rsplit("/", 1)[1]) >= 24
    assert live_feed.feed_url(store, "run-a", now=200.0) == first  # renewed, not replaced
    assert live_feed.feed_url(store, "run-b", now=200.0) != first
    later = 200.0 + live_feed.TOKEN_TTL_S + 1
    fresh = live_feed.feed_url(store, "run-b", now=later)  # renews b, forgets a
    assert fresh != first and first.rsplit("/", 1)[1] not in live_feed._TOKENS


def test_the_route_answers_the_run_then_same_then_the_next_version(runs_root, mounted):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = live_run(store)
    url = live_feed.feed_url(store, run_id)
    status, body = get(url)
    assert status == 200 and body["active"] is True and body["status"] == "running"
    assert [c["title"] for c in body["charts"]] == ["loss", "accuracy"]  # loss first
    assert body["last_step"] == 4 and body["charts"][0]["last_step"] == 4
    assert body["progress"]["text"].startswith("epoch 1/3 · step 4/10 · ETA ")
    assert 0 < body["progress"]["fraction"] < 1
    assert get(url, seen=body["tag"]) == (200, {"same": True})  # nothing moved: 13 bytes

    store.add_batch_metrics(run_id, [(5, 0, time.time(), {"loss": 0.3, "accuracy": 0.3})])
    store.set_progress(run_id, 0, 5, 10)
    time.sleep(run_watch.MIN_REBUILD_S)  # a newer version within it is served at the next ask
    status, newer = get(url, seen=body["tag"])
    assert status == 200 and newer["tag"] != body["tag"] and newer["last_step"] == 5
    assert newer["panel"] == body["panel"]  # only the curves moved: no rerun of the panel

    store.request_stop(run_id)
    time.sleep(run_watch.MIN_REBUILD_S)
    _, stopping = get(url, seen=newer["tag"])
    assert stopping["panel"] != newer["panel"]  # Stop requested: the panel is redrawn once
    run_watch.forget(store, run_id)


def test_unknown_tokens_and_deleted_runs_get_404(runs_root, mounted):
    store = RunStore(runs_root / "runs.sqlite")
    assert get("/tflab-api/live/not-a-token") == (404, {"error": "unknown or expired live feed"})
    url = live_feed.feed_url(store, "no-such-run")
    assert get(url) == (404, {"error": "the run no longer exists"})


def test_serve_mounts_the_route_on_streamlits_own_app():
    script = (
        "import runpy; ns = runpy.run_path('dashboard/serve.py'); "
        "from dashboard import live_feed; "
        "print([r.path for r in ns['app']._user_routes], live_feed.MOUNTED)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    route = "/tflab-api/live/{token}"  # polled over HTTP, pushed over a WebSocket
    assert out.stdout.strip().splitlines()[-1] == f"{[route, route]} True"


def panels(at) -> list[dict]:
    return [
        json.loads(e.proto.json)
        for e in at.get("bidi_component")
        if e.proto.component_name.endswith("tflab_live_chart")
    ]


def test_train_page_in_feed_mode_mounts_one_panel_that_follows_the_feed(runs_root, mounted):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run(dict(TINY, epochs=3))
    with live_worker(store, run_id):
        run_watch.forget(store, run_id)
        store.add_batch_metrics(run_id, [(s, 0, time.time(), {"loss": 1 / s}) for s in (1, 2)])
        store.set_progress(run_id, 0, 2, 10)
        at = AppTest.from_file(str(APP), default_timeout=30)
        at.query_params["run"] = run_id
        at.switch_page("../pages/train.py").run()
        assert not at.exception, at.exception
        (panel,) = panels(at)
        assert panel["feed"]["url"] == live_feed.feed_url(store, run_id)
        assert panel["feed"]["ms"] == live_feed.POLL_MS and panel["feed"]["panel"]
        assert [c["title"] for c in panel["charts"]] == ["loss"]
        assert panel["progress"]["text"].startswith("epoch 1/3 · step 2/10")
        assert not at.get("plotly_chart")  # every batch chart is on the canvas while live
        assert not at.progress  # the progress line is the panel's own
        assert any(t.label == "Log scale for the loss" for t in at.toggle)

    store.set_status(run_id, "succeeded")
    at.run()
    assert not at.exception, at.exception
    assert panels(at) == [] and at.get("plotly_chart")  # Plotly with hover and zoom again
    run_watch.forget(store, run_id)


def test_a_tab_asking_right_after_a_build_gets_same_without_a_store_read(
    runs_root, mounted, monkeypatch
):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = live_run(store)
    body = json.loads(live_feed.payload(store, run_id))
    monkeypatch.setattr(store, "get_run", lambda _id: pytest.fail("read the store"))
    assert live_feed.payload(store, run_id, body["tag"]) == b'{"same":true}'
    monkeypatch.setattr(live_feed, "SAME_FOR_S", 0.0)  # stale: the store is read again
    with pytest.raises(pytest.fail.Exception):
        live_feed.payload(store, run_id, body["tag"])
    run_watch.forget(store, run_id)
