"""Task settings dataclasses: defaults, round trips, unknown keys, types and ranges refused."""

from __future__ import annotations

import json

import pytest

from core.config import ConfigError, RunConfig
from core.runs.launcher import check_data_settings
from core.tasks.settings import (
    TASK_SETTINGS,
    ClassificationSettings,
    PickingSettings,
    ReconstructionSettings,
)


def test_defaults_and_json_round_trip():
    for cls in TASK_SETTINGS.values():
        settings = cls.from_dict({})
        again = cls.from_dict(json.loads(json.dumps(settings.to_dict())))
        assert again == settings
    picking = PickingSettings.from_dict({"window": 400.0, "class_weights": [1, 5, 5]})
    assert picking.window == 400 and isinstance(picking.window, int)
    assert picking.class_weights == [1.0, 5.0, 5.0] and picking.label_shape == "gaussian"
    assert ReconstructionSettings.from_dict({"noise_std": "0.1"}).noise_std == 0.1
    assert ClassificationSettings.from_dict(None).to_dict() == {}


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        (PickingSettings, {"window": 10}, "at least 64"),
        (PickingSettings, {"window": 100.5}, "window must be a whole number"),
        (PickingSettings, {"label_shape": "square"}, "label_shape must be one of"),
        (PickingSettings, {"label_shape": 3}, "label_shape must be text"),
        (PickingSettings, {"label_width": 0}, "positive"),
        (PickingSettings, {"class_weights": [1, 2]}, "three positive"),
        (PickingSettings, {"class_weights": "x"}, "a list of numbers"),
        (PickingSettings, {"window": None}, "window needs a value"),
        (PickingSettings, {"colour": 1}, "unknown data setting(s) colour"),
        (ReconstructionSettings, {"noise_std": -1}, ">= 0"),
        (ReconstructionSettings, {"noise_std": "lots"}, "must be a number"),
        (ClassificationSettings, {"noise_std": 0.1}, "unknown data setting"),
    ],
)
def test_bad_values_are_refused_with_the_reason(cls, data, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cls.from_dict(data)


def test_launch_refuses_settings_of_another_task_before_anything_starts():
    check_data_settings(RunConfig(model="phasenet", data_settings={"window": 400}))
    with pytest.raises(ConfigError, match="unknown data setting"):
        check_data_settings(RunConfig(model="cnn", data_settings={"window": 400}))
    with pytest.raises(ConfigError, match="unknown model"):
        check_data_settings(RunConfig(model="nope"))
