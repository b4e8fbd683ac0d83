"""End to end: Predict with an image run on three uploaded images, in Chromium against a real
dashboard server.

A finished tiny digits MLP (tests/image_run_helpers.save_image_run, no worker) is written
straight into the server's runs folder. The test opens /predict?run=<id>, chooses Upload, gives
the file picker three images of different kinds (a 640x480 RGB photo-like PNG, a 16x16 gray PNG,
a 40x30 RGBA PNG), then reads the results table (three rows, from the grid's accessible
copy), the conversion text under it and the CSV download (three rows with top-k and what was
done to each). Screenshot: predict_many.png. Every wait is bounded by one budget
(TEST_BUDGET_S, TFLAB_BROWSER_BUDGET_S); ~30 s on an idle machine.
"""

from __future__ import annotations

import csv
import io
import time

import numpy as np
import pytest
from PIL import Image

from dashboard.classification_view import IMAGE_LABEL
from tests.browser.server import (
    TEST_BUDGET_S,
    Budget,
    dashboard_server,
    launch_chromium,
    new_page,
    screenshot,
)
from tests.image_run_helpers import save_image_run

pytestmark = pytest.mark.browser


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


IMAGES = {
    "photo.png": png(np.full((480, 640, 3), 40, np.uint8)),
    "small.png": png(np.eye(16, dtype=np.uint8) * 255),
    "rgba.png": png(np.zeros((30, 40, 4), np.uint8) + np.uint8([200, 10, 10, 255])),
}


# The data grid draws on a canvas; its cells are also in an accessible <table> inside it.
GRID_ROWS_JS = """() => [...document.querySelectorAll(
    '[data-testid="stDataFrame"] table[role="grid"] tr')]
    .map(tr => [...tr.querySelectorAll('th, td')].map(c => c.textContent.trim()))
"""


def grid_rows(page) -> list[list[str]]:
    try:
        return page.evaluate(GRID_ROWS_JS)
    except Exception:  # noqa: BLE001 - a rerun in the middle of the call
        return []


@pytest.fixture
def server(tmp_path):
    """(base url, runs folder) of a dashboard server with its own runs folder and data root."""
    with dashboard_server(tmp_path, data_root=tmp_path / "data") as running:
        yield running


def test_three_images_give_a_table_and_a_csv(server):
    from playwright.sync_api import expect, sync_playwright

    url, runs = server
    run_id = save_image_run(runs, "classification")
    budget = Budget(TEST_BUDGET_S)
    with sync_playwright() as pw:
        browser = launch_chromium(pw, budget)
        try:
            page = new_page(browser)
            page.goto(f"{url}/predict?run={run_id}", timeout=budget.ms(20))
            # the server imports TensorFlow and loads the model first (~10 s idle)
            expect(page.get_by_text("Sample from the test split")).to_be_visible(
                timeout=budget.ms(90)
            )
            page.get_by_text("Upload", exact=True).click()
            uploader = page.get_by_test_id("stFileUploader").filter(has_text=IMAGE_LABEL)
            expect(uploader).to_be_visible(timeout=budget.ms(15))
            files = [
                {"name": name, "mimeType": "image/png", "buffer": data}
                for name, data in IMAGES.items()
            ]
            uploader.locator("input[type=file]").set_input_files(files, timeout=budget.ms(15))
            budget.mark("uploaded")

            # ---- the table: three rows, top-k and what was done --------------------------------
            table = page.get_by_test_id("stDataFrame").first
            expect(table).to_be_visible(timeout=budget.ms(30))
            deadline = time.monotonic() + min(15, budget.left())
            while len(rows := grid_rows(page)) < 4:  # header + 3 rows
                assert time.monotonic() < deadline, f"the table has no three rows: {rows}"
                page.wait_for_timeout(200)
            assert rows[0] == ["image", "prediction", "probability", "top_k", "preprocessing"]
            assert [r[0] for r in rows[1:]] == list(IMAGES)
            for row in rows[1:]:
                assert row[1] in list("0123456789") and len(row[3].split("; ")) == 3
            assert rows[1][4] == "resized 640x480 -> 16x16, RGB -> gray, scaled 0-255 -> 0-1"
            done = page.get_by_text("What was done to the images:")
            expect(done).to_be_visible(timeout=budget.ms(10))
            text = done.inner_text().replace("\u2192", "->")  # markdown draws -> as an arrow
            assert "resized 640x480 -> 16x16, RGB -> gray, scaled 0-255 -> 0-1 (1 image)" in text
            assert "kept size, scaled 0-255 -> 0-1 (1 image)" in text
            assert "resized 40x30 -> 16x16, RGBA -> gray" in text
            budget.mark("table")

            # ---- the CSV download --------------------------------------------------------------
            button = page.get_by_test_id("stDownloadButton").get_by_role("button")
            expect(button).to_have_text("Download CSV")
            with page.expect_download(timeout=budget.ms(15)) as caught:
                button.click()
            rows = list(csv.DictReader(io.StringIO(open(caught.value.path()).read())))
            assert [r["image"] for r in rows] == list(IMAGES)
            for row in rows:
                assert row["prediction"] in list("0123456789")
                assert len(row["top_k"].split("; ")) == 3  # top 3 by default
                assert 0.0 <= float(row["probability"]) <= 1.0
            assert rows[0]["preprocessing"].startswith("resized 640x480 -> 16x16, RGB -> gray")
            screenshot(page, "predict_many.png", show=done)
            budget.mark("csv")
        finally:
            browser.close()
