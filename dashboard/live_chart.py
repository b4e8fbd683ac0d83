"""The light live loss chart: a <canvas> line chart drawn by a tiny inline Streamlit component
(custom components v2, no build step, no Plotly, nothing fetched from outside the server).

series(): batch rows and epoch rows in, the chart's JSON data out (x in epochs =
global_step / steps_per_epoch, y the metric; epoch points at x = epoch + 1 like
dashboard.figures.metric_curves). live_chart(): mounts it. A data change calls the component's
JS again with the same parentElement (no remount; Streamlit 1.67's BidiComponent effect depends
on `data`), which redraws only that canvas. The newest plotted global step is on the chart's
root element as `data-last-step` (read by bench/watch_harness.py's RECORDER_JS and the tests).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.figures import TRAIN_COLOUR, VAL_COLOUR

HEIGHT_PX = 320  # like metric_curves' figures
CSS_CLASS = "tflab-live-chart"  # the chart's root element (has data-last-step)

_JS = r"""
const H = 320, L0 = 62, R = 14, T = 30, B = 72;
const SILENT_MS = 5000;  // a socket with no message by then counts as failed
function nice(span, n) {
  const raw = span / Math.max(1, n), p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}
function ticks(lo, hi, n) {
  const step = nice(hi - lo, n), out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
  return { values: out, step };
}
function fmt(v, step) {
  if (Math.abs(v) < step * 1e-6) return "0";
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return Math.abs(v) >= 1e5 || Math.abs(v) < 1e-4 ? v.toExponential(1) : v.toFixed(digits);
}
function draw(root) {
  const d = root.__data, canvas = root.firstChild, w = root.clientWidth;
  if (!d || !w) return;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr); canvas.height = Math.round(H * dpr);
  canvas.style.width = w + "px"; canvas.style.height = H + "px";
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, H);
  const css = getComputedStyle(root);
  const ink = css.getPropertyValue("--st-text-color").trim() || css.color || "#31333f";
  const family = css.fontFamily || "sans-serif";
  const log = !!d.log_y, fy = log ? (v => (v > 0 ? Math.log10(v) : NaN)) : (v => v);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of d.traces) for (let i = 0; i < s.x.length; i++) {
    const y = fy(s.y[i]);
    if (!Number.isFinite(y)) continue;
    x0 = Math.min(x0, s.x[i]); x1 = Math.max(x1, s.x[i]);
    y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  if (!Number.isFinite(x0)) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
  if (x1 - x0 < 1e-9) { x0 -= 0.5; x1 += 0.5; }
  if (y1 - y0 < 1e-12) { const p = Math.abs(y0) * 0.1 || 0.5; y0 -= p; y1 += p; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const ph = H - T - B;
  let yv;
  if (log && Math.floor(y1) - Math.ceil(y0) >= 1) {
    yv = [];
    for (let e = Math.ceil(y0); e <= Math.floor(y1); e++) yv.push(e);
    const label = e => (Math.abs(e) < 4 ? String(Number((10 ** e).toPrecision(1))) : `1e${e}`);
    yv = yv.map(e => ({ at: e, label: label(e) }));
  } else {
    const yt = ticks(y0, y1, Math.max(2, Math.floor(ph / 45)));
    const label = v => (log ? String(Number(Math.pow(10, v).toPrecision(2))) : fmt(v, yt.step));
    yv = yt.values.map(v => ({ at: v, label: label(v) }));
  }
  ctx.font = `12px ${family}`;
  const L = Math.max(L0, 30 + Math.max(0, ...yv.map(t => ctx.measureText(t.label).width)));
  const pw = w - L - R;
  const px = x => L + (x - x0) / (x1 - x0) * pw, py = y => T + (y1 - y) / (y1 - y0) * ph;
  ctx.font = `12px ${family}`; ctx.lineWidth = 1;
  ctx.strokeStyle = "rgba(128,128,128,0.25)"; ctx.fillStyle = ink;
  const xt = ticks(x0, x1, Math.max(2, Math.floor(pw / 80)));
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const v of xt.values) {
    ctx.beginPath(); ctx.moveTo(px(v), T); ctx.lineTo(px(v), T + ph); ctx.stroke();
    ctx.fillText(fmt(v, xt.step), px(v), T + ph + 5);
  }
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const t of yv) {
    ctx.beginPath(); ctx.moveTo(L, py(t.at)); ctx.lineTo(L + pw, py(t.at)); ctx.stroke();
    ctx.fillText(t.label, L - 6, py(t.at));
  }
  ctx.strokeStyle = "rgba(128,128,128,0.6)"; ctx.strokeRect(L, T, pw, ph);
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  ctx.fillText(d.x_title, L + pw / 2, T + ph + 22);
  ctx.save(); ctx.translate(14, T + ph / 2); ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle"; ctx.fillText(d.y_title + (log ? " (log)" : ""), 0, 0); ctx.restore();
  ctx.font = `15px ${family}`; ctx.textAlign = "left"; ctx.textBaseline = "middle";
  ctx.fillText(d.title, L, T / 2);
  ctx.save(); ctx.beginPath(); ctx.rect(L, T, pw, ph); ctx.clip();
  for (const s of d.traces) {
    ctx.globalAlpha = s.opacity; ctx.strokeStyle = s.colour; ctx.fillStyle = s.colour;
    ctx.lineWidth = s.width; ctx.beginPath();
    let pen = false;
    for (let i = 0; i < s.x.length; i++) {
      const y = fy(s.y[i]);
      if (!Number.isFinite(y)) { pen = false; continue; }
      if (pen) ctx.lineTo(px(s.x[i]), py(y)); else ctx.moveTo(px(s.x[i]), py(y));
      pen = true;
    }
    ctx.stroke();
    if (s.markers) for (let i = 0; i < s.x.length; i++) {
      const y = fy(s.y[i]);
      if (!Number.isFinite(y)) continue;
      ctx.beginPath(); ctx.arc(px(s.x[i]), py(y), 3.5, 0, 2 * Math.PI); ctx.fill();
    }
  }
  ctx.restore(); ctx.globalAlpha = 1;
  ctx.font = `12px ${family}`; ctx.textBaseline = "middle";
  const items = d.traces.map(s => ({ s, w: 28 + ctx.measureText(s.name).width + 18 }));
  const rows = [[]];
  let used = 0;
  for (const it of items) {  // a second legend row when one does not fit (narrow charts)
    if (used + it.w > w - L && rows[rows.length - 1].length) { rows.push([]); used = 0; }
    rows[rows.length - 1].push(it); used += it.w;
  }
  rows.slice(-2).forEach((row, r, shown) => {
    let lx = L; const ly = H - 12 - 16 * (shown.length - 1 - r);
    for (const { s, w: iw } of row) {
      ctx.strokeStyle = s.colour; ctx.lineWidth = Math.max(2, s.width);
      ctx.globalAlpha = Math.max(0.5, s.opacity);
      ctx.beginPath(); ctx.moveTo(lx, ly); ctx.lineTo(lx + 22, ly); ctx.stroke();
      ctx.globalAlpha = 1; ctx.fillStyle = ink; ctx.fillText(s.name, lx + 28, ly);
      lx += iw;
    }
  });
}
function chartRoot(grid, i) {
  let root = grid.children[i];
  if (!root) {
    root = document.createElement("div");
    root.className = "tflab-live-chart";
    root.style.cssText = `width:100%;height:${H}px;min-width:0`;
    root.setAttribute("role", "img");
    root.appendChild(document.createElement("canvas"));
    grid.appendChild(root);
    root.__observer = new ResizeObserver(() => draw(root));
  }
  root.__observer.observe(root);
  return root;
}
function render(panel, d) {
  const bar = panel.querySelector(".tflab-live-progress");
  const note = panel.querySelector(".tflab-live-note");
  bar.hidden = !d.progress;
  if (d.progress) {
    // :scope: the bar itself is a div, so a bare "div > div" would find the track, not the fill
    const fill = bar.querySelector(":scope > div > div");
    fill.style.width = `${Math.round(100 * d.progress.fraction)}%`;
    bar.querySelector("p").textContent = d.progress.text;
  }
  const charts = d.charts || (d.traces ? [d] : []);
  note.hidden = charts.length > 0 || !d.waiting;
  note.textContent = d.waiting || "";
  const grid = panel.querySelector(".tflab-live-grid");
  const column = "minmax(0,1fr)";
  grid.style.gridTemplateColumns = charts.length > 1 ? `${column} ${column}` : column;
  charts.forEach((c, i) => {
    const root = chartRoot(grid, i), step = c.last_step === null ? "" : String(c.last_step);
    root.__data = { ...c, log_y: i === 0 && !!d.log_y };
    root.dataset.lastStep = step;
    root.setAttribute("aria-label", `${c.title} chart, last step ${step}`);
    draw(root);
  });
  while (grid.children.length > charts.length) {
    grid.lastChild.__observer.disconnect(); grid.lastChild.remove();
  }
}
function handle(panel, feed, p) {  // one feed answer (poll or push); false once the run ended
  if (panel.__feed !== feed) return false;  // remounted meanwhile: that mount follows the feed
  if (p.same) return true;
  panel.__tag = p.tag;
  render(panel, { ...p, log_y: panel.__log, waiting: feed.waiting });
  if (p.panel !== feed.panel || !p.active) {
    feed.panel = p.panel;  // once per change: Streamlit redraws the rest of the panel
    panel.__trigger("changed", p.panel);
  }
  if (!p.active) panel.__ended = true;
  return p.active;
}
function poll(panel) {  // the fallback: ask the HTTP route every feed.ms
  clearTimeout(panel.__timer);
  const feed = panel.__feed;
  if (!feed || panel.__ended || document.hidden) return;  // shown again: visibilitychange
  const again = () => { panel.__timer = setTimeout(() => poll(panel), feed.ms); };
  fetch(`${feed.url}?v=${encodeURIComponent(panel.__tag)}`, { cache: "no-store" })
    .then(r => (r.ok ? r.json() : Promise.reject(r.status)))
    .then(p => { if (handle(panel, feed, p)) again(); })
    .catch(status => {
      if (status === 404) panel.__trigger("changed", "gone");  // token expired: a fresh one
      else again();  // the server is restarting or busy: ask again later
    });
}
function hangUp(panel) {
  const ws = panel.__socket;
  panel.__socket = null;
  clearTimeout(panel.__silence);
  if (ws) { ws.onclose = null; ws.onmessage = null; ws.close(1000); }
}
function listen(panel) {  // the feed pushed over a WebSocket; polling where sockets fail
  clearTimeout(panel.__timer);
  const feed = panel.__feed;
  if (!feed || panel.__ended || document.hidden || panel.__socket) return;
  if (panel.__failures >= 2) { poll(panel); return; }  // until the next remount
  const failed = () => {  // no message from this socket: try once more, then poll
    panel.__failures = (panel.__failures || 0) + 1;
    panel.__timer = setTimeout(() => listen(panel), feed.ms);
  };
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  let ws;
  try {
    ws = new WebSocket(
      `${scheme}//${location.host}${feed.url}?v=${encodeURIComponent(panel.__tag)}`);
  } catch (err) {  // refused at once (a blocked scheme, an extension)
    panel.__failures = 2; poll(panel); return;
  }
  let heard = false;
  panel.__socket = ws;
  panel.__silence = setTimeout(() => { hangUp(panel); failed(); }, SILENT_MS);
  ws.onmessage = e => {
    if (!heard) { heard = true; panel.__failures = 0; clearTimeout(panel.__silence); }
    let p;
    try { p = JSON.parse(e.data); } catch (err) { return; }  // not ours: ignore it
    if (!handle(panel, feed, p)) hangUp(panel);
  };
  ws.onclose = e => {
    panel.__socket = null;
    clearTimeout(panel.__silence);
    if (panel.__feed !== feed || panel.__ended || document.hidden) return;
    if (e.code === 4404) { panel.__trigger("changed", "gone"); return; }  // a fresh token
    if (e.code === 1000) { panel.__trigger("changed", "ended"); return; }  // the run ended
    if (!heard) { failed(); return; }  // e.g. a proxy without WebSockets
    panel.__timer = setTimeout(() => listen(panel), feed.ms);  // restarting server: again
  };
}
export default function(component) {
  const { data, parentElement, setTriggerValue } = component;
  let panel = parentElement.querySelector(".tflab-live-panel");
  if (!panel) {
    panel = document.createElement("div");
    panel.className = "tflab-live-panel";
    panel.innerHTML = '<div class="tflab-live-progress" hidden style="margin-bottom:8px">' +
      '<p style="margin:0 0 4px;font-size:14px"></p>' +
      '<div style="height:6px;border-radius:3px;background:rgba(128,128,128,0.2)">' +
      '<div style="height:100%;border-radius:3px;background:#1f77b4;width:0"></div></div></div>' +
      '<p class="tflab-live-note" hidden style="margin:8px 0"></p>' +
      '<div class="tflab-live-grid" style="display:grid;gap:16px"></div>';
    parentElement.appendChild(panel);
  }
  panel.__trigger = setTriggerValue || (() => {});
  panel.__log = !!data.log_y;
  panel.__tag = data.tag || "";
  panel.__ended = false;
  panel.__failures = 0;  // each redraw of the panel tries a socket again
  panel.__feed = data.feed ? { ...data.feed, waiting: data.waiting } : null;
  render(panel, data);
  document.removeEventListener("visibilitychange", panel.__shown || (() => {}));
  panel.__shown = () => { if (document.hidden) hangUp(panel); else listen(panel); };
  document.addEventListener("visibilitychange", panel.__shown);
  hangUp(panel);  // a remount: the new feed (a fresh tag and token) gets its own socket
  listen(panel);
  return () => {
    clearTimeout(panel.__timer);
    hangUp(panel);
    document.removeEventListener("visibilitychange", panel.__shown);
  };
}
"""


@st.cache_resource
def _component():
    return st.components.v2.component("tflab_live_chart", js=_JS, isolate_styles=False)


def series(
    batch_rows: list[dict],
    epoch_rows: list[dict],
    metric: str,
    steps_per_epoch: int | None,
    batch_name: str = "train (batch)",
) -> dict:
    """The chart's data: traces [{name, x, y, colour, width, opacity, markers}] (x in epochs),
    titles, and last_step (the newest batch row's global_step, None without batch rows)."""
    per_epoch = max(1, steps_per_epoch or 1)
    points = [r for r in batch_rows if r.get(metric) is not None]
    traces = []
    if points:
        steps = np.fromiter((r["global_step"] for r in points), float, len(points))
        values = np.fromiter((r[metric] for r in points), float, len(points))
        traces.append(_trace(batch_name, steps / per_epoch, values, TRAIN_COLOUR, 1, 0.35, False))
    for key, label, colour in (
        (metric, "train (epoch)", TRAIN_COLOUR),
        (f"val_{metric}", "validation", VAL_COLOUR),
    ):
        rows = [r for r in epoch_rows if isinstance(r.get(key), (int, float))]
        if rows:
            x = np.array([r["epoch"] + 1 for r in rows], float)
            traces.append(
                _trace(label, x, np.array([r[key] for r in rows], float), colour, 2, 1, True)
            )
    return {
        "title": metric.replace("_", " "),
        "x_title": "epoch",
        "y_title": metric,
        "traces": traces,
        "last_step": int(points[-1]["global_step"]) if points else None,
    }


def _trace(name, x, y, colour, width, opacity, markers) -> dict:
    finite = np.isfinite(y)
    short = _six_digits(np.where(finite, y, 0.0)).tolist()
    return {
        "name": name,
        "x": np.round(x, 5).tolist(),
        "y": [v if ok else None for v, ok in zip(short, finite.tolist(), strict=True)],
        "colour": colour,
        "width": width,
        "opacity": opacity,
        "markers": markers,
    }


def _six_digits(y: np.ndarray) -> np.ndarray:
    """y (finite) rounded to 6 significant digits, vectorised: each value is the double
    nearest a 6-digit decimal, so JSON prints it short (0.123457, 1.5e-07)."""
    exponent = np.floor(np.log10(np.where(y == 0, 1.0, np.abs(y)))).astype(int)
    shift = np.clip(5 - exponent, -300, 300)
    up = shift >= 0  # scale by an exact power of ten: multiply up, or divide down
    scale = 10.0 ** np.abs(shift)
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = np.where(up, np.round(y * scale) / scale, np.round(y / scale) * scale)
    return np.where(np.isfinite(rounded), rounded, y)


def live_chart(data: dict, *, log_y: bool, key: str) -> None:
    """Mount (or update in place) the chart with series() data; log_y: a logarithmic y axis."""
    _component()(key=key, data={**data, "log_y": bool(log_y)}, height=HEIGHT_PX)


def live_panel(
    charts: list[dict],
    progress: tuple[float, str],
    feed: dict,
    *,
    log_y: bool,
    key: str,
    waiting: str = "",
) -> None:
    """Mount the progress line and every live chart (series() data; two a row, the first with
    log_y) that then follow `feed` on their own: {"url", "ms", "tag", "panel"} of
    dashboard.live_feed. When the feed's "panel" key moves or the run ends, the chart asks for
    one rerun (a trigger value; the rerun redraws the surrounding fragment). `waiting`: shown
    while there is no chart yet."""
    data = {
        "charts": charts,
        "progress": {"fraction": float(progress[0]), "text": progress[1]},
        "tag": feed["tag"],
        "feed": {"url": feed["url"], "ms": feed["ms"], "panel": feed["panel"]},
        "waiting": waiting,
        "log_y": bool(log_y),
    }
    _component()(key=key, data=data, on_changed_change=_noop)


def _noop() -> None:
    """The trigger's rerun is all that is needed."""
