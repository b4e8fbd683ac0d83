"""The live feed pushed over a WebSocket, on the same path as dashboard.live_feed's route
(ws <base>/tflab-api/live/<token>?v=<tag>): a live panel's charts keep one socket open while
their tab is shown and get the feed's payload each time the run's drawn version changes.

Why not only the poll: each HTTP request costs the server ~4 ms of CPU in the HTTP stack
(uvicorn's h11 parser, Streamlit's middlewares, a thread-pool hop) whatever it answers, so ten
tabs asking twice a second took ~0.08 of a core (py-spy on bench/bench_load.py). A push costs
one WebSocket frame per change and per tab.

One checker per watched run reads the store every CHECK_S seconds in a worker thread
(live_feed.snapshot: the run's row, the new batch rows only when its version moved) and wakes
every socket of that run when the tag changed, so ten viewers cost one store read per CHECK_S.
The checker ends with the run or with the run's last socket.

The socket: the first message is the payload, or {"same": true} when the tag the page gave is
current (so the page knows the socket works); then one payload per change. It closes with 1000
after the payload that says the run ended, and with GONE when the token is unknown, or is
forgotten while the socket is open (checked at each change and every TOKEN_CHECK_S), or the run
was deleted (the page then reruns its panel for a fresh token, as for the route's 404). The page
polls the HTTP route instead when two sockets in a row bring no message within a few seconds
(a proxy without WebSockets, or one that holds the upgrade), until the panel is next redrawn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketDisconnect

from core.runs.store import RunStore
from dashboard import live_feed

CHECK_S = 0.25  # how often a watched run's store row is read
MAX_BACKOFF_S = 8.0  # the longest pause between reads while the store keeps failing
TOKEN_CHECK_S = 30.0  # a socket with nothing to send still checks its token this often
GONE = 4404  # close code: unknown token, or the run no longer exists
LOG = logging.getLogger(__name__)


@dataclass
class _Channel:
    """What every socket of one run shares: the newest snapshot and a wake-up event."""

    store: RunStore
    run_id: str
    sockets: int = 0
    latest: live_feed.Snapshot | None = None
    gone: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    checker: asyncio.Task | None = None  # the reference that keeps the task alive


_CHANNELS: dict[tuple[str, str], _Channel] = {}  # touched only on the server's event loop


async def push_endpoint(websocket: WebSocket) -> None:
    """The socket's handler: send what changed until the run ends, the page goes away or the
    token is forgotten."""
    token = websocket.path_params.get("token", "")
    channel = None
    closed = None
    try:
        await websocket.accept()
        found = live_feed.lookup(token)
        if found is None:
            await websocket.close(code=GONE, reason="unknown or expired live feed")
            return
        channel = _join(*found)
        closed = asyncio.ensure_future(_until_closed(websocket))
        await _send_changes(websocket, channel, token, websocket.query_params.get("v"), closed)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the page went away mid-handshake or mid-send (uvicorn's ClientDisconnected: OSError)
    finally:
        if closed is not None:
            closed.cancel()
        if channel is not None:
            _leave(channel)


async def _send_changes(
    websocket: WebSocket, channel: _Channel, token: str, seen: str | None, closed: asyncio.Future
) -> None:
    first = True
    while not closed.done():
        wake = channel.changed  # taken before looking, so no change is missed
        if channel.gone or live_feed.lookup(token) is None:  # deleted run, forgotten token
            await websocket.close(code=GONE, reason="the run or its live feed is gone")
            return
        latest = channel.latest
        if latest is not None and (latest.tag != seen or first):
            await websocket.send_text(
                live_feed.SAME.decode() if latest.tag == seen else latest.body.decode()
            )
            seen, first = latest.tag, False
            if not latest.active:
                await websocket.close(code=1000)
                return
        waiting = asyncio.ensure_future(wake.wait())
        await asyncio.wait(
            {waiting, closed}, timeout=TOKEN_CHECK_S, return_when=asyncio.FIRST_COMPLETED
        )
        waiting.cancel()


async def _until_closed(websocket: WebSocket) -> None:
    """Returns when the page closes the socket (what it sends is ignored)."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass


def _join(store: RunStore, run_id: str) -> _Channel:
    key = (str(store.path), run_id)
    channel = _CHANNELS.get(key)
    if channel is None:
        channel = _CHANNELS[key] = _Channel(store, run_id)
        channel.checker = asyncio.ensure_future(_check(key, channel))
    channel.sockets += 1
    return channel


def _leave(channel: _Channel) -> None:
    channel.sockets -= 1


async def _check(key: tuple[str, str], channel: _Channel) -> None:
    """Read the run every CHECK_S while it has sockets; wake them when its tag changed. A
    failing read is logged once per spell of failures and retried less and less often (up
    to MAX_BACKOFF_S)."""
    pause = CHECK_S
    try:
        while channel.sockets > 0:
            try:
                now = await asyncio.to_thread(live_feed.snapshot, channel.store, channel.run_id)
            except Exception as err:  # noqa: BLE001 - a busy or broken store: say so, retry
                if pause == CHECK_S:
                    LOG.warning("live feed of run %s: store read failed: %s", channel.run_id, err)
                pause = min(MAX_BACKOFF_S, pause * 2)
            else:
                pause = CHECK_S
                if now is None or channel.latest is None or now.tag != channel.latest.tag:
                    channel.gone = now is None
                    channel.latest = now or channel.latest
                    _wake(channel)
                if now is None or not now.active:
                    return  # nothing more will change
            await asyncio.sleep(pause)
    finally:
        if _CHANNELS.get(key) is channel:  # a later socket starts a fresh checker
            del _CHANNELS[key]
        live_feed.drop_cached(channel.store, channel.run_id)  # rebuilt when asked again


def _wake(channel: _Channel) -> None:
    woken, channel.changed = channel.changed, asyncio.Event()
    woken.set()
