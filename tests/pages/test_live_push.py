"""dashboard/live_push.py: the live feed pushed over a WebSocket, served by uvicorn in this
process on a free port (the same Starlette routes as dashboard/serve.py), read with the
`websockets` client: the first message, one payload per change, one store reader per run
whatever the number of sockets, the run's end, unknown tokens and deleted runs.
The page's side (listen, fall back to polling, hang up when hidden) in Chromium:
tests/browser/test_live_feed_browser.py."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from core.runs.store import RunStore
from dashboard import live_feed, live_push, run_watch
from tests.browser.server import free_port
from tests.pages.test_live_feed import live_run

WAIT_S = 10.0  # per message; a change is pushed within CHECK_S plus a store read


@pytest.fixture
def server(monkeypatch):
    """ws:// base of a uvicorn server with the feed's two routes (no token left over)."""
    monkeypatch.setattr(live_feed, "MOUNTED", True)
    registries = (live_feed._TOKENS, live_feed._BY_RUN, live_feed._PAYLOADS, live_feed._BUILT_AT)
    for registry in registries:
        registry.clear()
    app = Starlette(
        routes=[
            Route(live_feed.ROUTE, live_feed.feed_endpoint),
            WebSocketRoute(live_feed.ROUTE, live_push.push_endpoint),
        ]
    )
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    config.ws = "websockets-sansio"
    serve = uvicorn.Server(config)
    thread = threading.Thread(target=serve.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not serve.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert serve.started, "uvicorn did not start"
    yield f"ws://127.0.0.1:{port}"
    serve.should_exit = True
    thread.join(timeout=10)
    for registry in registries:
        registry.clear()


def next_json(socket) -> dict:
    return json.loads(socket.recv(timeout=WAIT_S))


def advance(store: RunStore, run_id: str, step: int) -> None:
    store.add_batch_metrics(run_id, [(step, 0, time.time(), {"loss": 1 / step, "accuracy": 0.5})])
    store.set_progress(run_id, 0, step, 10)


def test_first_the_payload_then_one_per_change(runs_root, server):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = live_run(store)
    path = live_feed.feed_url(store, run_id)
    with connect(server + path + "?v=") as socket:
        first = next_json(socket)
        assert first["active"] is True and first["last_step"] == 4
        assert [c["title"] for c in first["charts"]] == ["loss", "accuracy"]
        for step in (5, 6):
            time.sleep(run_watch.MIN_REBUILD_S)
            advance(store, run_id, step)
            pushed = next_json(socket)
            assert pushed["last_step"] == step and pushed["tag"] != first["tag"], pushed
            first = pushed
        with pytest.raises(TimeoutError):  # nothing moved: nothing is sent
            socket.recv(timeout=3 * live_push.CHECK_S + 0.5)
    with connect(f"{server}{path}?v={first['tag']}") as socket:  # a page that is up to date
        assert next_json(socket) == {"same": True}
    run_watch.forget(store, run_id)


def test_ten_sockets_on_a_run_share_one_store_reader(runs_root, server, monkeypatch):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = live_run(store)
    path = live_feed.feed_url(store, run_id)
    reads = []
    real = live_feed.snapshot
    monkeypatch.setattr(
        live_feed, "snapshot", lambda *args: reads.append(time.monotonic()) or real(*args)
    )
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(connect(server + path + "?v=")) for _ in range(10)]
        tags = {next_json(s)["tag"] for s in sockets}
        assert len(tags) == 1
        reads.clear()
        time.sleep(2.0)
        # one checker: ~2 / CHECK_S reads in 2 s, not ten times that
        assert 2 <= len(reads) <= 2 / live_push.CHECK_S + 2, len(reads)
        time.sleep(run_watch.MIN_REBUILD_S)
        advance(store, run_id, 5)
        assert {next_json(s)["last_step"] for s in sockets} == {5}
    deadline = time.monotonic() + 5
    while live_push._CHANNELS and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live_push._CHANNELS == {}  # the last socket gone: the checker ended
    count = len(reads)
    time.sleep(3 * live_push.CHECK_S)
    assert len(reads) == count  # and reads nothing more
    run_watch.forget(store, run_id)


def test_the_run_ends_then_the_socket_closes(runs_root, server):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = live_run(store)
    path = live_feed.feed_url(store, run_id)
    with connect(server + path + "?v=") as socket:
        assert next_json(socket)["active"] is True
        store.set_status(run_id, "succeeded")
        last = next_json(socket)
        assert last["active"] is False and last["status"] == "succeeded"
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=WAIT_S)
        assert closed.value.rcvd.code == 1000
    run_watch.forget(store, run_id)


def test_unknown_tokens_and_deleted_runs_are_closed_with_gone(runs_root, server):
    store = RunStore(runs_root / "runs.sqlite")
    with connect(server + "/tflab-api/live/not-a-token") as socket:
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=WAIT_S)
        assert closed.value.rcvd.code == live_push.GONE
    run_id = live_run(store)
    path = live_feed.feed_url(store, run_id)
    with connect(server + path + "?v=") as socket:
        assert next_json(socket)["active"] is True
        store.delete_run(run_id)
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=WAIT_S)
        assert closed.value.rcvd.code == live_push.GONE
    run_watch.forget(store, run_id)


def test_a_token_forgotten_while_open_closes_the_socket(runs_root, server):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = live_run(store)
    path = live_feed.feed_url(store, run_id)
    with connect(server + path + "?v=") as socket:
        assert next_json(socket)["active"] is True
        with live_feed._LOCK:
            live_feed._forget(path.rsplit("/", 1)[1])  # expired, or evicted by MAX_TOKENS
        time.sleep(run_watch.MIN_REBUILD_S)
        advance(store, run_id, 5)  # the next change finds the token gone
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=WAIT_S)
        assert closed.value.rcvd.code == live_push.GONE
    run_watch.forget(store, run_id)


def test_a_failing_store_is_logged_once_and_read_less_often(runs_root, server, monkeypatch):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = live_run(store)
    path = live_feed.feed_url(store, run_id)
    reads = []
    real = live_feed.snapshot

    def broken(*args):
        reads.append(time.monotonic())
        raise OSError("disk I/O error")

    monkeypatch.setattr(live_feed, "snapshot", broken)
    warnings = []
    monkeypatch.setattr(live_push.LOG, "warning", lambda *args, **kw: warnings.append(args))
    with connect(server + path + "?v=") as socket:
        time.sleep(3.0)
        assert len(warnings) == 1 and "disk I/O error" in str(warnings[0][-1]), warnings
        # 0.25 s apart at first, then 0.5, 1, 2: not 12 reads in 3 s
        assert 2 <= len(reads) <= 5, [round(t - reads[0], 2) for t in reads]
        monkeypatch.setattr(live_feed, "snapshot", real)  # the store is back
        assert next_json(socket)["active"] is True  # within the next pause (<= 4 s here)
    run_watch.forget(store, run_id)
