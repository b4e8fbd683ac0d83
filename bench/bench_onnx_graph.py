"""CPU time per window of the ONNX graph's variants, side by side: ms CPU per 3000-sample window.

    .venv/bin/python bench/bench_onnx_graph.py [--rounds 20] [--chunk 64]

The published PhaseNet (../shared/models/phasenet-2019, else the same network untrained) is
lowered once (core.seismic.fast_inference) and written as two ONNX graphs
(core.seismic.onnx_inference.build_graph): transposed convolutions as phase-interleaved Convs
(the default) and as ONNX ConvTranspose. Each runs in a single-threaded session (as in
OnnxRunner) on the same chunk of windows; rounds alternate the order and the medians of the
CPU time per window and of the per-round ratio are printed, with the largest difference from
the plain Keras forward pass, FLOPs per window and the FLOP rate against one core's AVX2 + FMA
peak. CPU time (time.process_time), so another process on the machine slows it less than wall
time, but the load average is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

VARIANTS = {"phase_convs": True, "conv_transpose": False}  # name -> deconv_phases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=64, help="windows per session.run")
    args = parser.parse_args(argv)

    import numpy as np
    from bench_picking_speed import machine, published_model

    from core.seismic import fast_inference, onnx_inference
    from core.seismic.continuous import synthetic_record

    model, trained = published_model()
    window = int(model.inputs[0].shape[1])
    steps = fast_inference._plan(model)
    data = synthetic_record(args.chunk * window / 100.0 + 60, seed=3).record.data
    x = np.stack([data[i * window : (i + 1) * window] for i in range(args.chunk)])
    x = x.astype(np.float32)
    reference = np.asarray(model(x, training=False))
    sessions, result = {}, {"trained": trained, "chunk": args.chunk, "rounds": args.rounds}
    for name, phases in VARIANTS.items():
        graph = onnx_inference.build_graph(
            steps, id(model.inputs[0]), id(model.outputs[0]), window, 3, deconv_phases=phases
        )
        sessions[name] = onnx_inference.session(graph, threads=1)
        y = sessions[name].run(["y"], {"x": x})[0]
        result[f"{name}_max_difference_vs_keras"] = float(np.abs(y - reference).max())
    times = {name: [] for name in sessions}
    for r in range(args.rounds):
        for name in list(sessions) if r % 2 == 0 else list(sessions)[::-1]:
            cpu = time.process_time()
            for _ in range(3):
                sessions[name].run(["y"], {"x": x})
            times[name].append((time.process_time() - cpu) / 3 / len(x) * 1000)
    flops = fast_inference.forward_flops(model)
    peak = machine()["peak_gflops_per_core"]
    first = times["phase_convs"]
    for name, values in times.items():
        ms = statistics.median(values)
        result[name] = {
            "cpu_ms_per_window": ms,
            "ratio_to_phase_convs": statistics.median(
                b / a for a, b in zip(first, values, strict=True)
            ),
            "gflops_per_cpu_s": flops / ms / 1e6,
            "fraction_of_one_core_peak": flops / ms / 1e6 / peak if peak else None,
        }
    result["mflop_per_window"] = flops / 1e6
    result["load_average"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(result, indent=2))
    for name in sessions:
        r = result[name]
        print(f"{name:15s} {r['cpu_ms_per_window']:.3f} ms CPU / window  "
              f"x{r['ratio_to_phase_convs']:.3f}  {r['gflops_per_cpu_s']:.1f} GFLOP/s",
              file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
