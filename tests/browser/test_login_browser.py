"""Password login in Chromium against a real dashboard server with a temporary secrets file.

The server's TFLAB_SECRETS names a file with users alice and bob. The test opens the dashboard:
only the login form is shown (screenshot login.png); a wrong password gets "Wrong user name or
password", the right one opens Home with "Logged in as bob" in the sidebar. Lock-out (this
server locks a name after 2 failures): two wrong passwords for alice in another tab lock her
name, and then even her right password gets the lock message once the server has finished the
run for that submit (read from the page's websocket; screenshot login_locked.png). Then it opens
/compare with three runs (alice's finished and running runs, bob's own): a new browser page is a
new session, so the form asks again and then shows the page that was asked for. In the Manage
tab alice's Delete, Save and Stop are disabled for bob, with a tooltip saying who may; bob's own
Delete is not (screenshot compare_non_owner.png). Nothing trains: the runs are written straight
into the store, the "running" one with the pid of a `sleep` and a heartbeat in the future.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from core.config import RunConfig
from core.runs.store import RunStore
from tests.browser.server import (
    SCREENSHOTS,
    TEST_BUDGET_S,
    Budget,
    dashboard_server,
    launch_chromium,
    new_page,
    screenshot,
)
from tests.conftest import TINY
from tests.core.test_access import login_settings

pytestmark = pytest.mark.browser

USERS = {"alice": "alice-password", "bob": "bob-password"}
WHO_MAY = "Only its owner alice or an admin (root) may change this run."


@pytest.fixture
def server(tmp_path):
    secrets = login_settings(tmp_path / "secrets.toml", users=USERS, admins=("root",))
    text = secrets.read_text().replace("[tflab_auth]\n", "[tflab_auth]\nmax_failed_logins = 2\n")
    secrets.write_text(text)
    with dashboard_server(tmp_path, secrets=secrets) as running:
        yield running


@pytest.fixture
def sleeper():
    """A live process to stand in for a worker (dashboard_server ends it with the runs)."""
    proc = subprocess.Popen(["sleep", "300"])
    yield proc.pid
    proc.kill()
    proc.wait(5)


def make_run(store: RunStore, name: str, owner: str, pid: int | None = None) -> str:
    config = RunConfig.from_dict({**TINY, "name": name}).to_dict()
    run_id = store.create_run(config, name, owner=owner)
    (store.path.parent / run_id).mkdir()
    if pid:
        store.mark_started(run_id, pid)  # alive; the heartbeat below never goes stale
        with sqlite3.connect(store.path) as db:
            db.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time() + 3600, run_id))
    else:
        store.add_epoch_metrics(run_id, 0, {"loss": 1.0, "val_loss": 1.1})
        store.set_status(run_id, "succeeded")
    return run_id


def log_in(page, budget: Budget, name: str, password: str) -> None:
    form = page.get_by_test_id("stForm")
    form.get_by_label("User name", exact=True).fill(name)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_test_id("stBaseButton-primaryFormSubmit").click()


def record_finished_runs(page) -> list[int]:
    """The status of every script run the server reports finished to `page`, in order (read
    from the ForwardMsg frames on its websocket); attach before the page connects."""
    finished: list[int] = []

    def frame(payload) -> None:
        if isinstance(payload, bytes):
            message = ForwardMsg.FromString(payload)
            if message.WhichOneof("type") == "script_finished":
                finished.append(message.script_finished)

    page.on("websocket", lambda socket: socket.on("framereceived", frame))
    return finished


def wait_for_finished_run(page, finished: list[int], after: int, budget: Budget) -> None:
    """Wait until a script run after the first `after` ones ended normally (not one cut short
    by st.rerun): what it showed is on the page now."""
    deadline = min(time.monotonic() + 30, budget.deadline)
    while ForwardMsg.FINISHED_SUCCESSFULLY not in finished[after:]:
        assert time.monotonic() < deadline, f"no finished script run: {finished[after:]}"
        page.wait_for_timeout(50)  # lets Playwright deliver the frames
    from playwright.sync_api import expect

    # ... and the page has drawn it (the app root shows the state once it took the message)
    idle = page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')
    expect(idle).to_have_count(1, timeout=budget.ms(15))


def test_login_then_someone_elses_runs_are_read_only(server, sleeper):
    from playwright.sync_api import expect, sync_playwright

    url, runs = server
    store = RunStore(runs / "runs.sqlite")
    theirs = make_run(store, "alice-run", "alice")
    live = make_run(store, "alice-live", "alice", pid=sleeper)
    mine = make_run(store, "bob-run", "bob")
    budget = Budget(TEST_BUDGET_S)
    with sync_playwright() as pw:
        browser = launch_chromium(pw, budget)
        try:
            page = new_page(browser)

            # ---- only the login form -----------------------------------------------------------
            page.goto(url, timeout=budget.ms(20))
            form = page.get_by_test_id("stForm")
            expect(form.get_by_label("Password", exact=True)).to_be_visible(timeout=budget.ms(30))
            expect(form.get_by_label("Password", exact=True)).to_have_attribute("type", "password")
            expect(page.get_by_text("Latest runs")).to_have_count(0)
            expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)  # no pages to pick
            screenshot(page, "login.png")

            # ---- a wrong password, then the right one ------------------------------------------
            log_in(page, budget, "bob", "alice-password")
            expect(page.get_by_text("Wrong user name or password")).to_be_visible(
                timeout=budget.ms(15)
            )
            expect(form.get_by_label("Password", exact=True)).to_have_value("")  # cleared
            expect(page.get_by_text("Latest runs")).to_have_count(0)
            assert "Traceback" not in page.content()
            log_in(page, budget, "bob", "bob-password")
            expect(page.get_by_role("heading", name="Latest runs")).to_be_visible(
                timeout=budget.ms(20)
            )
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_text("Logged in as")).to_contain_text("bob")
            expect(sidebar.get_by_role("button", name="Log out")).to_be_visible()
            expect(page.get_by_text("Wrong user name or password")).to_have_count(0)
            budget.mark("logged in")

            # ---- lock-out: two wrong passwords for alice in another tab ------------------------
            other = new_page(browser)
            finished = record_finished_runs(other)
            other.goto(url, timeout=budget.ms(20))
            expect(other.get_by_test_id("stForm")).to_be_visible(timeout=budget.ms(30))
            log_in(other, budget, "alice", "bob-password")
            expect(other.get_by_text("Wrong user name or password")).to_be_visible(
                timeout=budget.ms(15)
            )
            log_in(other, budget, "alice", "not-hers-either")
            locked = other.get_by_text("Too many failed logins for alice")
            expect(locked).to_be_visible(timeout=budget.ms(15))
            runs_before = len(finished)
            log_in(other, budget, "alice", "alice-password")  # the right one: still locked
            wait_for_finished_run(other, finished, runs_before, budget)  # no Home after it
            print(f"script runs of the lock-out tab: {finished}")  # 0 ok, 2 cut by st.rerun
            expect(locked).to_be_visible(timeout=budget.ms(15))
            expect(locked).to_contain_text("locked for 15 more minutes")
            expect(other.get_by_text("Latest runs")).to_have_count(0)
            screenshot(other, "login_locked.png")
            other.close()
            budget.mark("lock-out checked")

            # ---- Compare as bob: a new page is a new session, the form asks again --------------
            page.goto(f"{url}/compare?runs={theirs},{live},{mine}", timeout=budget.ms(20))
            expect(page.get_by_test_id("stForm")).to_be_visible(timeout=budget.ms(30))
            log_in(page, budget, "bob", "bob-password")
            expect(page.get_by_text("Comparing:")).to_be_visible(timeout=budget.ms(30))
            assert re.search(r"/compare\?runs=", page.url), page.url
            page.get_by_role("tab", name="Manage").click()

            def expander(label: str):
                box = page.get_by_test_id("stExpander").filter(has_text=label)
                box.locator("summary").click()
                return box

            done = expander("alice-run · succeeded")
            expect(done.get_by_text(WHO_MAY)).to_be_visible(timeout=budget.ms(15))
            expect(done.get_by_role("button", name="Delete")).to_be_disabled()
            expect(done.get_by_role("button", name="Save")).to_be_disabled()
            expect(done.get_by_label("Name", exact=True)).to_be_disabled()
            expect(done.get_by_role("button", name=re.compile("Clone & tweak"))).to_be_visible()
            running = expander("alice-live · running")
            expect(running.get_by_role("button", name="Stop")).to_be_disabled()
            own = expander("bob-run · succeeded")
            expect(own.get_by_role("button", name="Delete")).to_be_enabled()
            expect(own.get_by_role("button", name="Save")).to_be_enabled()

            delete = done.get_by_role("button", name="Delete")
            delete.scroll_into_view_if_needed()
            delete.hover(force=True)  # a disabled button still shows its tooltip
            tooltip = page.get_by_test_id("stTooltipContent")
            expect(tooltip.first).to_contain_text(WHO_MAY, timeout=budget.ms(10))
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "compare_non_owner.png"))
            budget.mark("compare checked")
        finally:
            browser.close()
    assert store.get_run(theirs) is not None and not store.stop_requested(live)
    assert budget.left() > 0
