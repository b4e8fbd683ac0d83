"""Browser and server cost of one live Train tab: renderer CPU of a Chromium tab watching a live
digits run and the CPU of its dashboard server, for the product and, side by side in the same
window, for a variant server.

    .venv/bin/python bench/bench_tab_render.py [--seconds 20] [--windows 3]
        [--before-ref HEAD] [--variant-env K=V,K=V]

Two dashboard servers share one runs folder and one training run: the product, and a variant:
by default the panel as it was at git ref --before-ref (dashboard/run_panel.py, run_watch.py and
pages/train.py read with `git show REF:path` into a copy of this tree, which the variant server
imports through PYTHONPATH; nothing in this checkout changes); --before-ref '' runs this tree's
code, with --variant-env added to its environment (e.g. TFLAB_LIVE_SECONDARY_S=0,
TFLAB_LIVE_POINTS=1000: every chart follows every batch). One tab each, both open for the whole
measurement, on different sites (127.0.0.1 and localhost), so each has its own renderer
process(es), identified as the ones that appeared when it opened. Prints JSON per window and in
total: renderer cores per tab (CPU seconds from /proc/PID/stat per wall second), chart updates
seen (the loss chart's newest step changed), renderer CPU seconds per chart update (what holds
up when the browser core is busy: a starved tab draws fewer updates), server cores per viewer
(each server has one tab; its idle cost is in the number) and the batch-end-to-screen delay
(bench/watch_harness.py). Placement: servers and worker on CPU 0, Chromium on CPU 1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import watch_harness as wh  # noqa: E402
from core.runs.store import RunStore  # noqa: E402
from tests.browser.server import (  # noqa: E402
    REPO,
    STREAMLIT,
    VIEWPORT,
    dashboard_server,
    free_port,
    wait_for_health,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of one window")
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--before-ref", default="HEAD", help="git ref of the variant's panel")
    parser.add_argument("--variant-env", default="", help="K=V,K=V for the variant server")
    return parser.parse_args(argv)


def descendants() -> list[int]:
    """Every process started (indirectly) by this process."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [os.getpid()]
    while todo:
        for kid in children.get(todo.pop(), []):
            todo.append(kid)
            found.append(kid)
    return found


def renderer_pids() -> set[int]:
    """Chromium renderer processes started (indirectly) by this process."""
    found = set()
    for kid in descendants():
        try:
            if b"--type=renderer" in Path(f"/proc/{kid}/cmdline").read_bytes():
                found.add(kid)
        except OSError:
            pass
    return found


def cpu_of(pids: set[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += wh.cpu_seconds(pid)
        except OSError:
            pass
    return total


BEFORE_FILES = ("dashboard/run_panel.py", "dashboard/run_watch.py", "pages/train.py")
COPIED = ("core", "dashboard", "pages", ".streamlit")  # what `streamlit run` of the app imports


def before_tree(tmp: Path, ref: str) -> Path:
    """A copy of this tree's COPIED folders with BEFORE_FILES as they are at git ref `ref`
    (read-only git)."""
    tree = tmp / "before"
    for name in COPIED:
        if (REPO / name).exists():
            shutil.copytree(REPO / name, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in BEFORE_FILES:
        text = subprocess.run(
            ["git", "show", f"{ref}:{name}"], cwd=REPO, check=True, capture_output=True, text=True
        ).stdout
        (tree / name).write_text(text)
    return tree


def variant_server(
    runs: Path, tmp: Path, env_spec: str, before_ref: str
) -> tuple[subprocess.Popen, str]:
    """A second `streamlit run dashboard/app.py` on the same runs folder: the code of
    before_tree(before_ref) (this tree's if before_ref is ''), env_spec ("K=V,K=V") added to its
    environment."""
    extra = dict(item.split("=", 1) for item in env_spec.split(",") if item)
    secrets = tmp / "variant-secrets.toml"
    secrets.write_text("")
    env = dict(os.environ, TFLAB_RUNS_DIR=str(runs), TFLAB_SECRETS=str(secrets), **extra)
    cwd = REPO
    if before_ref:
        cwd = before_tree(tmp, before_ref)
        env["PYTHONPATH"] = str(cwd)  # ahead of the editable install's finder
    port = free_port()
    cmd = [str(STREAMLIT), "run", "dashboard/app.py", "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    cmd += ["--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    log = open(tmp / "variant.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_for_health(f"http://127.0.0.1:{port}", proc, 60)
    return proc, f"http://localhost:{port}"  # another site: its own renderer


def server_pid(port: int) -> int:
    """The `streamlit run` process (a descendant of this one) serving `port`."""
    for pid in descendants():
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"run" in cmd and str(port).encode() in cmd and any(b"streamlit" in c for c in cmd):
            return pid
    raise RuntimeError(f"no streamlit server on port {port} among this process' children")


def open_tab(browser, url: str, run_id: str, per_epoch: int) -> tuple[object, set[int]]:
    before = renderer_pids()
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(300_000)
    page.add_init_script(f"window.__perEpoch = {per_epoch};\n" + wh.RECORDER_JS)
    page.goto(f"{url}/train?run={run_id}")
    page.locator('.tflab-live-chart, [data-testid="stPlotlyChart"]').first.wait_for()
    time.sleep(1)
    return page, renderer_pids() - before


def measure(args: argparse.Namespace) -> dict:
    from playwright.sync_api import sync_playwright

    os.environ.update(wh.worker_thread_env(1))
    wh.pin(wh.SERVER_CPUS)
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as name:
        tmp = Path(name)
        with dashboard_server(tmp, data_root=tmp / "data") as (url, runs):
            proc, variant_url = variant_server(runs, tmp, args.variant_env, args.before_ref)
            servers = {
                "product": server_pid(int(url.rsplit(":", 1)[1])),
                "variant": proc.pid,
            }
            try:
                wh.pin(wh.BROWSER_CPUS)
                run_id = wh.start_run(runs, "render", epochs=2000)
                store = RunStore(runs / "runs.sqlite")
                per_epoch = store.get_run(run_id).steps_per_epoch
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(
                        executable_path=str(wh.CHROMIUM), args=wh.CHROMIUM_ARGS
                    )
                    tabs = {
                        "product": open_tab(browser, url, run_id, per_epoch),
                        "variant": open_tab(browser, variant_url, run_id, per_epoch),
                    }
                    time.sleep(3)
                    windows = [
                        window(tabs, servers, store, run_id, args.seconds)
                        for _ in range(args.windows)
                    ]
                    browser.close()
                wh.stop_run(runs, run_id, timeout=30)
            finally:
                proc.terminate()
                proc.wait(15)
    total = {k: round(sum(w[k]["renderer_cores"] for w in windows) / len(windows), 3) for k in tabs}
    # a starved renderer (a busy core) draws fewer updates, not fewer per CPU second: the CPU
    # per chart update is the figure that holds up under load
    per_update = {
        k: round(
            sum(w[k]["renderer_cores"] * args.seconds for w in windows)
            / max(1, sum(w[k]["chart_updates"] for w in windows)),
            3,
        )
        for k in tabs
    }
    server = {k: round(sum(w[k]["server_cores"] for w in windows) / len(windows), 3) for k in tabs}
    return {
        "variant": f"panel of git {args.before_ref}" if args.before_ref else "this tree",
        "variant_env": args.variant_env,
        "windows": windows,
        "renderer_cores_mean": total,
        "variant_over_product": round(total["variant"] / max(1e-9, total["product"]), 2),
        "renderer_cpu_s_per_chart_update": per_update,
        "variant_over_product_per_update": round(
            per_update["variant"] / max(1e-9, per_update["product"]), 2
        ),
        "server_cores_per_viewer": server,
        "variant_over_product_server": round(server["variant"] / max(1e-9, server["product"]), 2),
        "load_average": os.getloadavg(),
    }


def window(tabs: dict, servers: dict, store: RunStore, run_id: str, seconds: float) -> dict:
    """Both tabs over the same `seconds`: renderer and server cores, updates seen, delays."""
    for page, _ in tabs.values():
        page.evaluate("window.__steps = []")
    start = {k: cpu_of(pids) for k, (_, pids) in tabs.items()}
    served = {k: cpu_of({pid}) for k, pid in servers.items()}
    t0 = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - t0
    out = {}
    for key, (page, pids) in tabs.items():
        steps = [tuple(s) for s in page.evaluate("window.__steps")]
        out[key] = {
            "renderer_cores": round((cpu_of(pids) - start[key]) / wall, 3),
            "server_cores": round((cpu_of({servers[key]}) - served[key]) / wall, 3),
            "chart_updates": len(steps),
            "delay_s": wh.summary(wh.delays(store, [(run_id, steps)])),
        }
    return out


def main() -> int:
    result = measure(parse_args())
    print(json.dumps(result, indent=2))  # after dashboard_server's log (printed on its exit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
