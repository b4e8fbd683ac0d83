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
const H = 320, L = 62, R = 14, T = 30, B = 66;
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
  const pw = w - L - R, ph = H - T - B;
  const px = x => L + (x - x0) / (x1 - x0) * pw, py = y => T + (y1 - y) / (y1 - y0) * ph;
  ctx.font = `12px ${family}`; ctx.lineWidth = 1;
  ctx.strokeStyle = "rgba(128,128,128,0.25)"; ctx.fillStyle = ink;
  const xt = ticks(x0, x1, Math.max(2, Math.floor(pw / 80)));
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const v of xt.values) {
    ctx.beginPath(); ctx.moveTo(px(v), T); ctx.lineTo(px(v), T + ph); ctx.stroke();
    ctx.fillText(fmt(v, xt.step), px(v), T + ph + 5);
  }
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
  let lx = L; const ly = H - 12;
  for (const s of d.traces) {
    ctx.strokeStyle = s.colour; ctx.lineWidth = Math.max(2, s.width);
    ctx.globalAlpha = Math.max(0.5, s.opacity);
    ctx.beginPath(); ctx.moveTo(lx, ly); ctx.lineTo(lx + 22, ly); ctx.stroke(); ctx.globalAlpha = 1;
    ctx.fillStyle = ink; ctx.fillText(s.name, lx + 28, ly);
    lx += 28 + ctx.measureText(s.name).width + 18;
  }
}
export default function(component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector(".tflab-live-chart");
  if (!root) {
    root = document.createElement("div");
    root.className = "tflab-live-chart";
    root.style.cssText = `width:100%;height:${H}px`;
    root.setAttribute("role", "img");
    root.appendChild(document.createElement("canvas"));
    parentElement.appendChild(root);
    root.__observer = new ResizeObserver(() => draw(root));
    root.__observer.observe(root);
  }
  root.__data = data;
  root.dataset.lastStep = data.last_step === null ? "" : String(data.last_step);
  root.setAttribute("aria-label", `${data.title} chart, last step ${root.dataset.lastStep}`);
  draw(root);
  return () => root.__observer.disconnect();
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
    y = np.where(np.isfinite(y), y, np.nan)  # NaN/inf become null: a gap, valid JSON
    return {
        "name": name,
        "x": np.round(x, 5).tolist(),
        "y": [None if np.isnan(v) else float(f"{v:.6g}") for v in y],
        "colour": colour,
        "width": width,
        "opacity": opacity,
        "markers": markers,
    }


def live_chart(data: dict, *, log_y: bool, key: str) -> None:
    """Mount (or update in place) the chart with series() data; log_y: a logarithmic y axis."""
    _component()(key=key, data={**data, "log_y": bool(log_y)}, height=HEIGHT_PX)
