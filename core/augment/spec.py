"""The op protocol image and waveform augmentations share (no TensorFlow here).

An op is a dataclass whose fields are its settings: NAME (the spec key), LABEL (what the page
shows), PARAMS {numeric field: (min, max, step)}, CHOICES {text field: allowed values}. A
pipeline's spec is a JSON list of steps `{"op": NAME, **settings}`; `ops_from_spec` rebuilds
the ops from a registry {NAME: class}, naming the step and what is wrong in a ValueError.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar


class SpecOp:
    """Base of image (core.augment.image_op_base) and waveform (core.seismic.waveform_ops) ops."""

    NAME: ClassVar[str] = ""
    LABEL: ClassVar[str] = ""
    PARAMS: ClassVar[dict[str, tuple[float, float, float]]] = {}
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {}

    def settings(self) -> dict:
        """The op's settings (its compared dataclass fields) as plain, JSON-friendly values."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.compare}


def to_spec(ops: list[SpecOp]) -> list[dict]:
    """Ops -> the JSON spec."""
    return [{"op": op.NAME, **op.settings()} for op in ops]


def ops_from_spec(spec, registry: dict[str, type]) -> list:
    """The JSON spec -> op instances from `registry`; ValueError names the step at fault."""
    if not isinstance(spec, list | tuple):
        raise ValueError(f"an augmentation spec is a list of steps, got {type(spec).__name__}")
    return [op_from_step(k, step, registry) for k, step in enumerate(spec)]


def op_from_step(k: int, step, registry: dict[str, type]):
    """One step `{"op": NAME, **settings}` (k-th, from 0) -> an op instance."""
    where = f"step {k + 1}"
    if not isinstance(step, dict) or "op" not in step:
        raise ValueError(f"{where}: expected a dict with an 'op' key, got {step!r}")
    name = step["op"]
    if name not in registry:
        raise ValueError(f"{where}: unknown op {name!r}; known ops: {', '.join(registry)}")
    cls = registry[name]
    fields = [f.name for f in dataclasses.fields(cls) if f.compare]
    args = {key: value for key, value in step.items() if key != "op"}
    unknown = sorted(set(args) - set(fields))
    if unknown:
        expected = ", ".join(fields) or "no settings"
        raise ValueError(
            f"{where} ({name}): unknown setting(s) {', '.join(unknown)}; expected: {expected}"
        )
    try:
        return cls(**args)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where} ({name}): {err}") from None
