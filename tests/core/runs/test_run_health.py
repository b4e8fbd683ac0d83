"""Runs that go wrong: a NaN loss stops the run at once; a diverging or chance-level run ends
with a warning (event, `runs --json`, the runs tables' badge) instead of a plain success.

The two real runs train in this process through the worker's entry (run_worker), on digits.
"""

from __future__ import annotations

import json
import math

import pytest

from core.cli.main import main
from core.config import RunConfig
from core.runs import run_health
from core.runs.queries import WARNING_PREFIX, run_warnings
from core.runs.store import RunStore
from core.runs.worker import run_worker
from dashboard.widgets import health_cell, runs_table_rows, status_label
from tests.conftest import TINY

# the report: plain SGD at learning rate 10 (loss up to ~100s, accuracy 0.10)
DIVERGING = TINY | {
    "epochs": 2,
    "max_train_examples": 256,
    "optimizer": "sgd",
    "learning_rate": 10.0,
}
EXPLODING = DIVERGING | {"epochs": 3, "learning_rate": 1e30}  # overflows: NaN in a batch or two


def test_diagnose_rules():
    assert run_health.diagnose(2.3, 2.4, 0.5, ("val_accuracy", 0.9), 10) == []
    grew = run_health.diagnose(2.3, 164.0, 2.4, ("val_accuracy", 0.9), 10)
    assert len(grew) == 1 and "grew from 2.3 at the start to 164 (71x)" in grew[0]
    assert "learning rate 10x lower" in grew[0] and grew[0].startswith(WARNING_PREFIX)
    chance = run_health.diagnose(2.3, 2.3, 2.3, ("val_accuracy", 0.14), 10)
    assert len(chance) == 1 and "val_accuracy 0.140 at the end is chance level" in chance[0]
    assert run_health.diagnose(2.3, 2.3, 2.3, ("val_accuracy", 0.16), 10) == []
    assert run_health.diagnose(0.69, 0.7, 0.7, ("accuracy", 0.52), 2) != []  # 2 classes
    assert run_health.diagnose(0.1, 0.2, 0.1, None, None) == []  # no accuracy: no chance check
    assert "NaN at epoch 2 step 7" in run_health.nan_message(math.nan, 2, 7)
    assert "Inf at epoch 1 step 1" in run_health.nan_message(math.inf, 1, 1)


def run_in_process(tmp_path, config: dict) -> tuple[RunStore, str]:
    store = RunStore(tmp_path / "runs.sqlite")
    run_id = store.create_run(RunConfig(**config).to_dict())
    (tmp_path / run_id).mkdir()
    run_worker(store, run_id, tmp_path / run_id)
    return store, run_id


@pytest.fixture(scope="module")
def diverged(tmp_path_factory):
    root = tmp_path_factory.mktemp("diverged")
    return root, *run_in_process(root, DIVERGING)


def test_a_diverging_run_ends_with_warnings_not_a_plain_success(diverged):
    root, store, run_id = diverged
    run = store.get_run(run_id)
    assert run.status == "succeeded"  # it ran to the end: still usable, but flagged
    losses = [b["loss"] for b in store.batch_metrics(run_id)]
    assert max(losses) > 20 * losses[0]  # the divergence the issue describes really happened
    assert run.final_metrics["val_accuracy"] <= 0.15
    warnings = [e for e in store.events(run_id) if e["level"] == "warning"]
    assert len(warnings) == 2
    assert "training diverged" in warnings[0]["message"]
    assert "chance level for 10 classes" in warnings[1]["message"]
    found = run_warnings(store, [run_id, "other"])
    assert list(found) == [run_id] and found[run_id][0].startswith("the loss grew from")
    assert store.events(run_id)[-1]["message"].startswith("succeeded")


def test_runs_json_and_the_runs_tables_show_the_warnings(diverged, monkeypatch, capsys):
    root, store, run_id = diverged
    healthy = store.create_run(RunConfig(**TINY).to_dict())
    store.set_status(healthy, "succeeded")
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(root))
    assert main(["runs", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert len(rows[run_id]["warnings"]) == 2 and "diverged" in rows[run_id]["warnings"][0]
    assert rows[healthy]["warnings"] == []

    runs = [store.get_run(run_id), store.get_run(healthy)]
    table = runs_table_rows(runs, warnings=run_warnings(store, [r.id for r in runs]))
    assert [r["check"] for r in table] == ["⚠️ 2 warnings", "✅"]
    assert health_cell("failed", []) == ""
    assert status_label("succeeded", warned=True) == ":material/warning: succeeded with warnings"


def test_a_nan_loss_stops_the_run_at_once_and_fails_it_plainly(tmp_path):
    store, run_id = run_in_process(tmp_path, EXPLODING)
    run = store.get_run(run_id)
    assert run.status == "failed"
    assert "loss became NaN at epoch 1 step " in run.error
    assert "lower the learning rate" in run.error and "Traceback" not in run.error
    steps = [b["global_step"] for b in store.batch_metrics(run_id)]
    assert len(steps) < 8  # 3 epochs of 8 batches were asked for: it stopped within epoch 1
    assert steps[-1] == int(run.error.split(" step ")[1].split(":")[0])  # the NaN batch is kept
    errors = [e["message"] for e in store.events(run_id) if e["level"] == "error"]
    assert errors == [run.error]
    assert not (tmp_path / run_id / "model.keras").exists()  # no NaN model to predict with
