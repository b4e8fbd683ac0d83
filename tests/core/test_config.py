"""core.config: JSON round trip, `key=value` overrides and the errors users see."""

from __future__ import annotations

import json

import pytest

from core.config import ConfigError, DeviceSettings, RunConfig


def test_json_round_trip_keeps_every_field():
    config = RunConfig(
        dataset="shapes",
        model="mlp",
        model_settings={"hidden_units": [16, 8], "dropout": 0.1},
        epochs=3,
        batch_size=16,
        learning_rate=0.05,
        seed=7,
        max_train_examples=100,
        name="round trip",
        devices=DeviceSettings(visible_gpus=[0], memory_growth=False, memory_limit_mb=512),
    )
    text = config.to_json()
    assert json.loads(text)["devices"]["memory_limit_mb"] == 512
    again = RunConfig.from_json(text)
    assert again == config
    assert isinstance(again.devices, DeviceSettings)
    assert RunConfig.from_dict(config.to_dict()) == config


def test_default_config_round_trips():
    assert RunConfig.from_json(RunConfig().to_json()) == RunConfig()


def test_overrides_parse_each_type():
    base = RunConfig()
    config = base.with_overrides(
        [
            "epochs=3",
            "learning_rate=1e-2",
            "max_train_examples=none",
            "name=a=b c",
            'model_settings={"filters": [8], "dense_units": 16}',
            "devices.memory_growth=false",
            "devices.visible_gpus=[0, 1]",
            "devices.memory_limit_mb=1024",
            "devices.mixed_precision=yes",
        ]
    )
    assert config.epochs == 3 and isinstance(config.epochs, int)
    assert config.learning_rate == pytest.approx(0.01) and isinstance(config.learning_rate, float)
    assert config.max_train_examples is None
    assert config.name == "a=b c"  # only the first '=' separates key and value
    assert config.model_settings == {"filters": [8], "dense_units": 16}
    assert config.devices == DeviceSettings(
        visible_gpus=[0, 1],
        memory_growth=False,
        memory_limit_mb=1024,
        mixed_precision="mixed_float16",
    )
    # the original is not modified
    assert base == RunConfig()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("1", True),
        ("on", True),
        ("YES", True),
        ("false", False),
        ("0", False),
        ("off", False),
        ("No", False),
    ],
)
def test_bool_overrides(text, expected):
    config = RunConfig().with_overrides([f"devices.memory_growth={text}"])
    assert config.devices.memory_growth is expected
    # mixed precision was a bool in older configs: yes/true still means mixed_float16
    config = RunConfig().with_overrides([f"devices.mixed_precision={text}"])
    assert config.devices.mixed_precision == ("mixed_float16" if expected else "off")


@pytest.mark.parametrize("text", ["none", "null", "None", ""])
def test_optional_fields_accept_none(text):
    config = RunConfig(max_train_examples=5).with_overrides([f"max_train_examples={text}"])
    assert config.max_train_examples is None
    config = RunConfig().with_overrides([f"devices.visible_gpus={text}"])
    assert config.devices.visible_gpus is None


def test_overrides_accept_empty_list_and_whitespace():
    config = RunConfig().with_overrides([" devices.visible_gpus = [] ", " batch_size = 8 "])
    assert config.devices.visible_gpus == []
    assert config.batch_size == 8


@pytest.mark.parametrize(
    ("pair", "fragment"),
    [
        ("bogus=1", "unknown config field: bogus"),
        ("devices.bogus=1", "unknown config field: bogus"),
        ("epochs", "expected key=value"),
        ("epochs=x", "epochs: cannot read 'x' as int"),
        ("epochs=1.5", "epochs: cannot read '1.5' as int"),
        ("learning_rate=fast", "learning_rate: cannot read 'fast' as float"),
        ("devices.mixed_precision=maybe", "devices.mixed_precision must be one of: off"),
        ("devices.memory_growth=maybe", "memory_growth: cannot read 'maybe' as bool"),
        ("max_train_examples=lots", "max_train_examples: cannot read 'lots' as int"),
        ("model_settings={not json", "model_settings: cannot read"),
        ("epochs=0", "epochs must be at least 1"),
        ("batch_size=0", "batch_size must be at least 1"),
        ("learning_rate=0", "learning_rate must be positive"),
        ("learning_rate=-1", "learning_rate must be positive"),
        ("learning_rate=nan", "learning_rate must be positive"),
        ("max_train_examples=0", "max_train_examples must be at least 1"),
    ],
)
def test_bad_overrides_raise_config_error(pair, fragment):
    with pytest.raises(ConfigError) as info:
        RunConfig().with_overrides([pair])
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("pair", "fragment"),
    [
        ("model_settings=[1, 2]", "model_settings"),
        ("model_settings=5", "model_settings"),
        ("devices.visible_gpus=5", "visible_gpus"),
        ('devices.visible_gpus={"a": 1}', "visible_gpus"),
        ("devices=5", "devices"),
        ('devices={"bogus": 1}', "bogus"),
    ],
)
def test_json_values_of_the_wrong_type_raise_config_error(pair, fragment):
    with pytest.raises(ConfigError) as info:
        RunConfig().with_overrides([pair])
    assert fragment in str(info.value)


def test_from_dict_rejects_unknown_fields_by_name():
    data = RunConfig().to_dict() | {"colour": "red", "age": 3}
    with pytest.raises(ConfigError) as info:
        RunConfig.from_dict(data)
    assert "unknown config field(s): age, colour" in str(info.value)


def test_from_dict_rejects_unknown_device_settings():
    data = RunConfig().to_dict()
    data["devices"]["turbo"] = True
    with pytest.raises(ConfigError) as info:
        RunConfig.from_dict(data)
    assert "turbo" in str(info.value)


def test_from_dict_validates_values():
    with pytest.raises(ConfigError, match="epochs must be at least 1"):
        RunConfig.from_dict({"epochs": 0})


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)
