"""Fine-tuning the imported published PhaseNet on the shared NCEDC training split.

    .venv/bin/python bench/bench_phasenet_finetune.py [--epochs 20] [--lr 1e-4] [--freeze]
        [--out result.json]

1. `python -m core import-phasenet ../shared/models/phasenet-2019 --json` (temporary runs folder).
2. A picker run with `init_from=<imported id>` (and `freeze_encoder` with --freeze) on
   `phasenet:ncedc-sample`, trained by the product's worker code (core.runs.worker.run_worker,
   in this process so its CPU time can be measured): the 72 training windows, random crops
   around the picks every epoch, the source's 3000-sample window.
3. Both runs scored on the 31 validation + test windows the fine-tuned run never trained on
   (core.seismic.evaluation through the saved model, 3000-sample windows, overlap 0.5), at the
   default threshold 0.3 and at the thresholds the fine-tuned run saved in model.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench_phasenet_import import CHECKPOINT, DATASET, scores  # noqa: E402 - same folder


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--freeze", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as runs:
        os.environ["TFLAB_RUNS_DIR"] = runs
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        out = subprocess.run(
            [sys.executable, "-m", "core", "import-phasenet", str(CHECKPOINT), "--json"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        source = json.loads(out.stdout)["id"]
        from core.config import RunConfig
        from core.runs import artifacts
        from core.runs.launcher import check_data_settings, open_store
        from core.runs.worker import run_worker
        from core.seismic.picking import Picker
        from core.seismic.sources import load_waveform_dataset
        from core.tasks.picking import LabelledWindows

        config = RunConfig(
            dataset=DATASET,
            model="phasenet",
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            init_from=source,
            freeze_encoder=args.freeze,
            name="fine-tuned",
        )
        check_data_settings(config)
        store = open_store(Path(runs))
        run_id = store.create_run(config.to_dict(), config.name, owner="bench")
        artifacts.write_json(Path(runs) / run_id, artifacts.CONFIG, config.to_dict())
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        code = run_worker(store, run_id, Path(runs) / run_id)
        cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
        if code != 0:
            print(store.get_run(run_id).error)
            return 1
        meta = artifacts.read_model_meta(Path(runs) / run_id)
        data = load_waveform_dataset(DATASET)
        held_out = LabelledWindows.of([data.val, data.test])
        result = {
            "epochs": args.epochs,
            "learning_rate": args.lr,
            "batch_size": args.batch_size,
            "freeze_encoder": args.freeze,
            "train_cpu_s": round(cpu, 1),
            "train_wall_s": round(wall, 1),
            "saved_thresholds": meta.get("thresholds"),
            "last_epoch": {
                k: round(v, 3)
                for k, v in (store.epoch_metrics(run_id) or [{}])[-1].items()
                if k.startswith("val_") and isinstance(v, float)
            },
        }
        for label, rid in (("imported", source), ("fine-tuned", run_id)):
            picker = Picker.from_run(Path(runs) / rid)
            result[f"{label} @ 0.3"] = scores(picker, held_out, 0.3)
        t = meta.get("thresholds") or {}
        if t:
            from core.seismic.evaluation import evaluate_windows
            from core.seismic.picking import PickOptions

            picker = Picker.from_run(Path(runs) / run_id)
            options = PickOptions(p_threshold=t["p_threshold"], s_threshold=t["s_threshold"])
            report = evaluate_windows(picker.predict, held_out, picker.window, options, (0.1, 0.5))
            result["fine-tuned @ saved thresholds"] = {
                f"{s.phase}@{s.tolerance_s:g}": round(s.f1, 3) for s in report.scores
            }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
