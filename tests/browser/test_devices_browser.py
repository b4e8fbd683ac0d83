"""The Devices page in Chromium against a real dashboard server (this machine: no GPU).

Checks what a user sees: the plain "no GPU" note, the CPU's cores, the memory bars, the
TensorFlow build, and the "Devices (GPU)" expander on the Train form; nothing (not even
the favicon) is fetched from outside the server. Screenshot:
devices.png (and train_devices.png) in the screenshots folder.
"""

from __future__ import annotations

import os

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


def test_devices_page_and_the_train_form_expander(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with dashboard_server(tmp_path) as (url, _runs), sync_playwright() as pw:
        budget = Budget(TEST_BUDGET_S)
        browser = launch_chromium(pw, budget)
        try:
            page = new_page(browser)
            outside = []  # a lab server may have no internet: nothing may come from elsewhere
            page.on(
                "request",
                lambda r: (
                    r.url.startswith(("http:", "https:"))
                    and not r.url.startswith(url)
                    and outside.append(r.url)
                ),
            )
            page.goto(f"{url}/devices", timeout=budget.ms(20))
            expect(page.get_by_text("No GPU found on this machine")).to_be_visible(
                timeout=budget.ms(90)  # the first visit asks TensorFlow (a helper process)
            )
            cores = page.get_by_test_id("stMetric").filter(has_text="Cores")
            expect(cores).to_contain_text(str(os.cpu_count()))
            expect(page.get_by_text("CPU-only TensorFlow build")).to_be_visible()
            chart = page.get_by_test_id("stPlotlyChart").first
            expect(chart).to_contain_text("host RAM", timeout=budget.ms(15))
            assert chart.locator(".barlayer .trace").count() == 2  # used and free
            screenshot(page, "devices.png")
            budget.mark("devices page drawn")

            page.goto(f"{url}/train", timeout=budget.ms(20))
            expander = page.get_by_test_id("stExpander").filter(has_text="Devices (GPU)")
            expander.locator("summary").click(timeout=budget.ms(30))
            precision = expander.get_by_text("Mixed precision", exact=True)
            precision.scroll_into_view_if_needed(timeout=budget.ms(15))
            screenshot(page, "train_devices.png", show=expander)
            expect(precision).to_be_visible(timeout=budget.ms(15))
            expect(expander.get_by_text("XLA compilation", exact=True)).to_be_visible()
            expect(expander.get_by_text("No GPU on this machine", exact=False)).to_be_visible()
            icons = page.evaluate(
                "Array.from(document.querySelectorAll('link[rel*=icon]')).map(l => l.href)"
            )
            assert icons and all(i.startswith(url) for i in icons), icons  # not fonts.gstatic.com
            assert outside == [], f"the page fetched from outside the server: {outside}"
        finally:
            browser.close()
