"""A pick job (core.seismic.pick_job) through core.runs.job_worker.run_job in-process: a cancel
while it runs stops it between window batches (whole pick jobs: tests/pages/test_queue_pick_job)."""

from __future__ import annotations

from core.runs import job_control
from core.seismic.pick_job import PROBABILITIES, pick_params
from core.seismic.picking import PickOptions
from tests.core.runs.job_helpers import CancelOnFirstProgress, run_in_process
from tests.core.seismic.picking_helpers import save_tiny_run

SOURCE = {"synthetic": {"minutes": 11, "seed": 0}}


def test_cancelling_a_running_pick_job_stops_its_loop(tmp_path, monkeypatch):
    save_tiny_run(tmp_path, "run-pick")
    monkeypatch.setattr(job_control, "PROGRESS_EVERY_S", 0.0)  # check at every batch
    store = CancelOnFirstProgress(tmp_path / "runs.sqlite")
    params = pick_params("run-pick", SOURCE, 0, PickOptions(batch_size=16))
    _, outcome, folder = run_in_process(store, "pick", params)
    assert store.cancelled == ["stop requested"]  # the job was running when it was cancelled
    assert outcome["status"] == "stopped" and outcome["progress"] < 0.5
    assert not (folder / PROBABILITIES).exists()
