"""AugmentationChoice, offer, pending: the typed hand-over of a pipeline from Augment to Train."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import streamlit as st

from core.tasks.settings import PickingSettings, TaskSettings

KEY = "handover-augmentation"  # {kind: AugmentationChoice}
Kind = Literal["image", "waveform"]
# Which data settings a choice of each kind may carry (the task settings class that checks them).
SETTINGS: dict[str, type[TaskSettings] | None] = {"image": None, "waveform": PickingSettings}


@dataclass(frozen=True)
class AugmentationChoice:
    """A pipeline for training: its spec, the seed of its draws and data settings to go with it.

    data_settings: keys of the kind's task settings (for waveforms PickingSettings, e.g.
    label_shape and label_width), checked and coerced by its from_dict; images carry none.
    """

    kind: Kind
    spec: list[dict]
    seed: int
    data_settings: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in SETTINGS:
            raise ValueError(f"kind must be one of {', '.join(SETTINGS)}, got {self.kind!r}")
        spec = [dict(step) for step in self.spec]
        if not spec or not all("op" in step for step in spec):
            raise ValueError("an augmentation choice needs at least one step, each with an 'op'")
        if isinstance(self.seed, bool) or int(self.seed) != self.seed or self.seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {self.seed!r}")
        object.__setattr__(self, "spec", spec)
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "data_settings", _checked(self.kind, self.data_settings))


def _checked(kind: str, data_settings: dict) -> dict:
    """The given keys only, with the values from_dict made of them (ValueError if wrong)."""
    settings_cls = SETTINGS[kind]
    data_settings = dict(data_settings or {})
    if settings_cls is None:
        if data_settings:
            raise ValueError(f"{kind} augmentation carries no data settings")
        return {}
    full = settings_cls.from_dict(data_settings).to_dict()
    return {name: full[name] for name in data_settings}


def offer(choice: AugmentationChoice) -> None:
    """Hand `choice` to the Train page (replacing an earlier choice of the same kind).

    The Augment page offers on "Use for training"; the Train page reads pending(). Both go
    through st.session_state[KEY], which nothing else touches.
    """
    st.session_state[KEY] = {**pending(), choice.kind: choice}


def pending() -> dict[str, AugmentationChoice]:
    """The choices offered in this session, by kind ("image", "waveform")."""
    offered = st.session_state.get(KEY) or {}
    return {kind: c for kind, c in offered.items() if isinstance(c, AugmentationChoice)}
