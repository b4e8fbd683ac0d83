"""Shared pieces of the browser tests: a `streamlit run dashboard/serve.py` server on a free port,
Chromium through Playwright, one time budget per test, screenshots and small page readers.

Every browser test starts its own server with its own runs folder (TFLAB_RUNS_DIR), its own
secrets file (TFLAB_SECRETS: empty, so login is off, unless the test passes one; never the real
.streamlit/secrets.toml) and, when asked, its own data root (TFLAB_DATA_ROOT); training workers
of those runs end with the test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.runs.store import RunStore, pid_alive

REPO = Path(__file__).resolve().parents[2]
STREAMLIT = REPO / ".venv" / "bin" / "streamlit"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Screenshots go to a scratch folder; TFLAB_SCREENSHOTS=docs/screenshots refreshes the README's.
SCREENSHOTS = Path(os.environ.get("TFLAB_SCREENSHOTS", "/tmp/tflab-screenshots"))
VIEWPORT = {"width": 1400, "height": 1000}

SERVER_START_S = 30
# Whole-test cap of the browser part (Budget); override with TFLAB_BROWSER_BUDGET_S.
TEST_BUDGET_S = float(os.environ.get("TFLAB_BROWSER_BUDGET_S", 180))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url}/_stcore/health did not answer ok within {timeout} s")


@contextlib.contextmanager
def dashboard_server(
    tmp_path: Path, data_root: Path | None = None, secrets: Path | None = None
) -> Iterator[tuple[str, Path]]:
    """(base url, runs folder) of a dashboard server; it and its workers end with the block.

    data_root: the server's TFLAB_DATA_ROOT (created); None leaves the environment's setting.
    secrets: the server's TFLAB_SECRETS (login settings); None: an empty file, login off.
    Fails (never skips) when Chromium or the streamlit script is missing: scripts/test.sh
    installs both.
    """
    if not CHROMIUM.exists() or not STREAMLIT.exists():
        pytest.fail("needs /usr/bin/chromium and .venv/bin/streamlit (run scripts/test.sh)")
    runs = tmp_path / "runs"
    runs.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if secrets is None:
        secrets = tmp_path / "no-login-secrets.toml"
        secrets.write_text("")
    env = dict(os.environ, TFLAB_RUNS_DIR=str(runs), TFLAB_SECRETS=str(secrets))
    if data_root is not None:
        data_root.mkdir(parents=True, exist_ok=True)
        env["TFLAB_DATA_ROOT"] = str(data_root)
    log_path = tmp_path / "streamlit.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                str(STREAMLIT),
                "run",
                "dashboard/serve.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_health(url, proc, SERVER_START_S)
        yield url, runs
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        end_workers(runs)
        # shown by pytest only when the test failed
        print("---- streamlit log ----\n" + log_path.read_text(errors="replace")[-4000:])


def end_workers(runs: Path) -> None:
    """Workers are detached from the server: end those of this test's runs by their pid."""
    db = runs / "runs.sqlite"
    if not db.exists():
        return
    for run in RunStore(db).list_runs(limit=100):
        if run.is_active and run.pid and pid_alive(run.pid):
            try:
                os.kill(run.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def launch_chromium(pw, budget: Budget):
    """Headless Debian Chromium with the flags every browser test uses."""
    return pw.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=budget.ms(30)
    )


def new_page(browser):
    """A page of the test viewport with the suite's default timeouts (15 s, navigation 20 s)."""
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(15_000)
    page.set_default_navigation_timeout(20_000)
    return page


def text_of(locator, timeout: float = 1000) -> str:
    """inner_text of the first match, or '' while Streamlit is swapping the element."""
    try:
        return locator.first.inner_text(timeout=timeout)
    except Exception:  # noqa: BLE001 - playwright timeout or detached element
        return ""


# Path data of the first line of every plotly chart on screen ('' while one is not drawn yet).
# Streamlit keeps zero-height copies of elements around while a fragment reruns: skip those.
CHART_LINES_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
    .filter(c => c.getBoundingClientRect().height > 0)
    .map(c => { const p = c.querySelector('path.js-line'); return p ? p.getAttribute('d') : ''; })
"""


def chart_lines(page) -> list[str]:
    try:
        return page.evaluate(CHART_LINES_JS)
    except Exception:  # noqa: BLE001 - a navigation or rerun in the middle of the call
        return []


def screenshot(page, name: str, show=None) -> None:
    """Save a PNG of the viewport: scrolled to the top, or so that locator `show` is in view."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    if show is None:
        page.evaluate(
            "() => { window.scrollTo(0, 0);"
            " for (const e of document.querySelectorAll('*')) if (e.scrollTop) e.scrollTop = 0; }"
        )
    else:
        show.evaluate("e => e.scrollIntoView({block: 'end'})")
    page.wait_for_timeout(400)  # plotly and the data grid finish drawing
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


class Budget:
    """One deadline for the whole test: every wait gets min(its own cap, what is left)."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def mark(self, what: str) -> None:
        """Print the time left at a step (pytest shows it when the test fails)."""
        print(f"{what}: {self.left():.1f} s of the budget left", flush=True)

    def ms(self, cap_s: float) -> float:
        left = self.left()
        assert left > 0, "the browser test ran out of its time budget"
        return max(1.0, min(cap_s, left)) * 1000


_SET_VISIBILITY = """hidden => {
  Object.defineProperty(document, "visibilityState",
                        {value: hidden ? "hidden" : "visible", configurable: true});
  Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def set_tab_hidden(page, hidden: bool) -> None:
    """Put the page in the background (or back) the way a browser does when the user switches
    tabs: document.visibilityState changes and a visibilitychange event fires."""
    page.evaluate(_SET_VISIBILITY, hidden)
