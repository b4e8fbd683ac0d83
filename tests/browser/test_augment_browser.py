"""End to end: the Augment page in Chromium against a real `streamlit run dashboard/serve.py`.

Adds a Brightness step, reads the preview grid (captions and image sources), moves the step's
'max delta' slider with the keyboard and changes the Seed, and checks that the grid follows each
change. Screenshot: docs/screenshots/augment.png. Every wait is bounded by one budget
(TEST_BUDGET_S, TFLAB_BROWSER_BUDGET_S): ~20 s on an idle machine, most of it the server's
TensorFlow import on the first visit of the page.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.server import (
    TEST_BUDGET_S,
    Budget,
    dashboard_server,
    launch_chromium,
    new_page,
    screenshot,
)

pytestmark = pytest.mark.browser

NOTE = re.compile(r"^brightness ([+-]\d\.\d\d)$")  # the caption under each variant
SAMPLES, VARIANTS = 3, 4  # the page's defaults

# every caption and every image source of the page, in page order
CAPTIONS_JS = """() => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
    .map(e => e.innerText.trim())"""
IMAGES_JS = """() => [...document.querySelectorAll('[data-testid="stImage"] img')]
    .map(e => e.getAttribute('src'))"""
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


@pytest.fixture
def server(tmp_path):
    """(base url, runs folder) of a dashboard server with its own runs folder and data root."""
    with dashboard_server(tmp_path, data_root=tmp_path / "data") as running:
        yield running


def grid(page) -> tuple[list[str], list[str]]:
    """(the brightness note of every variant, the source of every image) as drawn now."""
    try:
        captions, images = page.evaluate(CAPTIONS_JS), page.evaluate(IMAGES_JS)
    except Exception:  # noqa: BLE001 - a rerun in the middle of the call
        return [], []
    return [c for c in captions if NOTE.match(c)], images


def script_idle(page) -> bool:
    """True when the app's script is not running (nor about to rerun)."""
    try:
        return page.locator(IDLE).count() == 1
    except Exception:  # noqa: BLE001 - a rerun in the middle of the call
        return False


def wait_for_grid(page, budget: Budget, cap_s: float, differs_from=None, accept=None):
    """The full grid once the script has settled (its notes differ from `differs_from` and pass
    `accept`, when given).

    Every key press on a slider is a rerun of its own, so a grid counts only when the script is
    idle and two polls 300 ms apart read the same grid; a grid of an intermediate slider value
    (drawn between two key presses) is not yet the one to judge, hence `accept`.
    """
    deadline = time.monotonic() + min(budget.left(), cap_s)
    previous = None
    notes, images = [], []
    while time.monotonic() < deadline:
        notes, images = grid(page)
        complete = len(notes) == SAMPLES * VARIANTS and len(images) == SAMPLES * (VARIANTS + 1)
        wanted = complete and (differs_from is None or notes != differs_from)
        wanted = wanted and (accept is None or accept(notes))
        if wanted and script_idle(page) and previous == (notes, images):
            return notes, images
        previous = (notes, images) if wanted else None
        page.wait_for_timeout(300)
    raise AssertionError(f"the preview grid did not settle: {notes} ({len(images)} images)")


def test_augment_preview_follows_slider_and_seed(server):
    from playwright.sync_api import expect, sync_playwright

    url, _ = server
    budget = Budget(TEST_BUDGET_S)
    with sync_playwright() as pw:
        browser = launch_chromium(pw, budget)
        try:
            page = new_page(browser)

            # ---- open the page: the server imports TensorFlow on the first visit -------------
            page.goto(f"{url}/augment", timeout=budget.ms(20))
            page.get_by_text("Add operations above").wait_for(timeout=budget.ms(90))
            budget.mark("page open")

            # ---- add a Brightness step ---------------------------------------------------------
            page.get_by_role("combobox", name="Add an operation", exact=True).click()
            page.get_by_role("option", name="Brightness", exact=True).click()
            page.get_by_role("button", name=re.compile(r"Add$")).click()
            expect(page.get_by_text("1. Brightness", exact=True)).to_be_visible(
                timeout=budget.ms(20)
            )
            notes, images = wait_for_grid(page, budget, 20)
            deltas = [float(NOTE.match(n)[1]) for n in notes]
            assert all(abs(d) <= 0.2 for d in deltas), notes  # max delta 0.2 by default
            assert len(set(notes)) > 4, notes  # every (sample, epoch) draws its own delta
            assert len(set(images)) > SAMPLES, images
            budget.mark("step added")

            # ---- 'max delta' 0.20 -> 0.10 with the keyboard: the same draws, half as big ---------
            slider = page.get_by_role("slider", name="max delta")
            slider.focus()
            for _ in range(10):  # step 0.01
                slider.press("ArrowLeft")
            expect(page.get_by_test_id("stSlider").filter(has_text="max delta")).to_contain_text(
                "0.10", timeout=budget.ms(10)
            )

            def within(limit):
                return lambda found: all(abs(float(NOTE.match(n)[1])) <= limit for n in found)

            halved, halved_images = wait_for_grid(
                page, budget, 30, differs_from=notes, accept=within(0.1)
            )
            new_deltas = [float(NOTE.match(n)[1]) for n in halved]
            assert all(abs(d) <= 0.1 for d in new_deltas), halved
            # the seeds did not change, so each delta is the old one scaled by 0.1 / 0.2
            assert new_deltas == pytest.approx([d / 2 for d in deltas], abs=0.011)
            assert halved_images[:: VARIANTS + 1] == images[:: VARIANTS + 1]  # originals stay
            assert halved_images != images  # the variants were drawn again
            budget.mark("slider moved")

            # ---- another seed: other draws -------------------------------------------------------
            seed = page.get_by_label("Seed", exact=True)
            seed.fill("3")
            seed.press("Enter")
            reseeded, reseeded_images = wait_for_grid(page, budget, 20, differs_from=halved)
            assert sum(a != b for a, b in zip(halved, reseeded, strict=True)) > 6
            assert reseeded_images != halved_images
            assert all(abs(float(NOTE.match(n)[1])) <= 0.1 for n in reseeded)
            budget.mark("seed changed")

            screenshot(page, "augment.png")
        finally:
            browser.close()
    assert budget.left() > 0
