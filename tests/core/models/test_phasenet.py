"""PhaseNet U-Net: shapes for any window length, softmax output, normalisation, safe saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from core.models.zoo.phasenet import PhaseNetSettings, build_phasenet, level_lengths
from tests.core.seismic.picking_helpers import TINY_SETTINGS

TINY = PhaseNetSettings(**TINY_SETTINGS)


@pytest.mark.parametrize("samples", [3001, 3000, 1001, 257, 64])
def test_any_window_length_gives_the_same_length_back(samples):
    model = build_phasenet((samples, 3), 3, PhaseNetSettings(filters=(4, 4, 4, 4)))
    assert model.input_shape == (None, samples, 3)
    assert model.output_shape == (None, samples, 3)
    probs = model(np.random.default_rng(0).normal(size=(2, samples, 3)).astype("float32"))
    np.testing.assert_allclose(np.sum(probs, axis=-1), 1.0, atol=1e-5)


def test_default_settings_are_phasenets():
    settings = PhaseNetSettings()
    assert settings.filters == (8, 11, 16, 22, 32)
    assert (settings.kernel_size, settings.stride) == (7, 4)
    assert level_lengths(3001, 4, 5) == [3001, 751, 188, 47, 12]
    model = build_phasenet((3001, 3), 3, settings)
    assert 30_000 < model.count_params() < 50_000
    names = {layer.name for layer in model.layers}
    assert {"normalize", "down0_pool_conv", "up0_skip", "probabilities"} <= names


def test_per_window_normalisation_makes_units_irrelevant():
    model = build_phasenet((500, 3), 3, TINY)
    x = np.random.default_rng(1).normal(size=(2, 500, 3)).astype("float32")
    x[1, :, 0] = 0.0  # a dead component stays harmless
    base = model.predict(x, verbose=0)
    for scale, offset in ((1e-7, 0.0), (3e4, 1e3)):
        scaled = model.predict(x * scale + offset * (x != 0), verbose=0)
        np.testing.assert_allclose(scaled, base, atol=2e-3)
    assert np.isfinite(base).all()


def test_without_normalisation_there_is_no_normalize_layer():
    model = build_phasenet((300, 3), 3, PhaseNetSettings(filters=(4, 4), normalize=False))
    assert "normalize" not in {layer.name for layer in model.layers}


def test_saved_model_loads_in_safe_mode_with_identical_output(tmp_path):
    model = build_phasenet((600, 3), 3, PhaseNetSettings(filters=(4, 6), dropout=0.1))
    x = np.random.default_rng(2).normal(size=(3, 600, 3)).astype("float32")
    path = tmp_path / "picker.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_too_short_window_is_refused():
    with pytest.raises(ValueError, match="too short"):
        build_phasenet((50, 3), 3, PhaseNetSettings())
