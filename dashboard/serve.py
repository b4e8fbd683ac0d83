"""The dashboard's server (`streamlit run dashboard/serve.py`, what scripts/start.sh runs):
the Streamlit app of dashboard/app.py plus the live feed of a run's charts, so watching a run
reruns no page (st.App: Streamlit's own Starlette server with one extra path). The feed is pushed
over a WebSocket (dashboard/live_push.py), or polled over HTTP (dashboard/live_feed.py) where a
socket fails. `streamlit run dashboard/app.py` still works, with fragment polling.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from starlette.routing import Route, WebSocketRoute

from dashboard import live_feed, live_push

_base = (st.get_option("server.baseUrlPath") or "").strip("/")
live_feed.BASE_PATH = f"/{_base}" if _base else ""
live_feed.MOUNTED = True

app = st.App(
    str(Path(__file__).with_name("app.py")),
    routes=[
        Route(live_feed.BASE_PATH + live_feed.ROUTE, live_feed.feed_endpoint),
        WebSocketRoute(live_feed.BASE_PATH + live_feed.ROUTE, live_push.push_endpoint),
    ],
)
