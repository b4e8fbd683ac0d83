"""The new-run form of the Train page: every RunConfig option, prefilled from a base config.

Returns the RunConfig to launch (and K for K-fold cross-validation) when Train is pressed.
"""

from __future__ import annotations

import streamlit as st

from core.config import ConfigError, RunConfig
from core.data.registry import dataset_info, list_datasets
from core.models.registry import list_models
from core.runs.optimization import OPTIMIZERS, SCHEDULES
from dashboard.device_fields import device_fields
from dashboard.form_checks import FieldChecks, check_combination
from dashboard.handover import AugmentationChoice
from dashboard.init_from_field import init_from_field

BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512]


def _index(options: list, value, default: int = 0) -> int:
    return options.index(value) if value in options else default


def run_config_form(
    base: RunConfig,
    pending: dict[str, AugmentationChoice] | None = None,
    form_key: str = "new_run",
) -> tuple[RunConfig, int] | None:
    """Draw the form; on submit return (config, k) where k > 1 asks for K-fold runs.

    form_key: a new key (one per cloned run) gives fresh fields filled from `base`, so a value
    typed earlier does not survive where the cloned run has the default.

    pending: the pipelines offered on the Augment page by data kind (dashboard.handover); the
    one for the chosen dataset's kind becomes the run's augmentation, its seed the augment seed
    and its data settings (waveforms: label_shape, label_width) go into config.data_settings.
    """
    pending = dict(pending or {})
    datasets = [d.name for d in list_datasets()]
    if base.dataset not in datasets:
        datasets.append(base.dataset)
    models = {m.name: m for m in list_models()}
    names = list(models)
    checks = FieldChecks()  # range messages beside the fields, refused on Train
    with st.form(form_key):
        dataset = st.selectbox(
            "Dataset",
            datasets,
            index=_index(datasets, base.dataset),
            help="Built-in datasets need no download.",
        )
        model = st.selectbox(
            "Model",
            names,
            index=_index(names, base.model),
            format_func=lambda m: f"{m} · {models[m].description}",
        )
        epochs = checks.number("Epochs", 1, 1000, base.epochs)
        batch_size = st.select_slider("Batch size", BATCH_SIZES, _nearest(base.batch_size))
        learning_rate = checks.number(
            "Learning rate", 1e-6, 10.0, base.learning_rate, step=1e-4, format="%.2e"
        )
        optimizer = st.selectbox("Optimizer", OPTIMIZERS, index=_index(OPTIMIZERS, base.optimizer))
        limit = checks.number(
            "Training examples (0 = all)", 0, 10_000_000, base.max_train_examples or 0, step=100
        )
        seed = checks.number("Seed", 0, 2**31 - 1, base.seed)
        name = st.text_input("Run name (optional)", base.name)
        options = _advanced_options(base, checks)
        options.update(init_from_field(base))  # "Start from a previous run"
        options["devices"] = device_fields(base.devices)  # "Devices (GPU)" expander
        use_aug = False
        if pending:
            steps = ", ".join(f"{kind}: {len(p.spec)} step(s)" for kind, p in pending.items())
            use_aug = st.checkbox(
                f"Use the augmentation from the Augment page ({steps})",
                value=True,
                help="; ".join(_describe(p) for p in pending.values()),
            )
        elif base.augmentation:
            use_aug = st.checkbox(
                f"Keep the cloned run's augmentation ({len(base.augmentation)} step(s))", value=True
            )
        submitted = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:")
    if not submitted:
        return None
    checks.raise_if_any()  # the page shows it under Train; nothing is started
    k = options.pop("k_folds")
    values = base.to_dict()
    values.update(
        dataset=dataset,
        model=model,
        epochs=int(epochs),
        batch_size=int(batch_size),
        learning_rate=float(learning_rate),
        optimizer=optimizer,
        seed=int(seed),
        name=name.strip(),
        max_train_examples=int(limit) or None,
        k_folds=None,
        fold=None,
        **options,
    )
    if not use_aug:
        values.update(augmentation=[], augment_seed=None)
    elif pending:
        chosen = pending.get(_kind(dataset))
        if chosen is None:
            raise ConfigError(
                f"the Augment page's pipeline is for {', '.join(pending)} data, "
                f"but {dataset} is {_kind(dataset)} data"
            )
        values.update(augmentation=chosen.spec, augment_seed=chosen.seed)
        values["data_settings"] = {**values["data_settings"], **chosen.data_settings}
    config = RunConfig.from_dict(values)
    check_combination(config)  # a model for other data, an offline download, bad settings
    return config, k


def _describe(choice: AugmentationChoice) -> str:
    """'waveform: time_shift -> add_noise (seed 3, label_shape=box)' for the checkbox help."""
    extra = "".join(f", {k}={v}" for k, v in choice.data_settings.items())
    ops = " -> ".join(step["op"] for step in choice.spec)
    return f"{choice.kind}: {ops} (seed {choice.seed}{extra})"


def _kind(dataset: str) -> str:
    try:
        return dataset_info(dataset).kind
    except ValueError:
        return "image"


def _advanced_options(base: RunConfig, checks: FieldChecks) -> dict:
    """Schedule, regularisation, loss, stopping and validation settings (collapsed)."""
    out: dict = {}
    with st.expander("Learning rate schedule, clipping, weight averaging"):
        out["lr_schedule"] = st.selectbox(
            "Schedule", SCHEDULES, index=_index(list(SCHEDULES), base.lr_schedule)
        )
        out["lr_decay_steps"] = checks.number(
            "Exponential: decay steps", 1, 10**7, base.lr_decay_steps
        )
        out["lr_decay_rate"] = checks.number(
            "Exponential: decay rate", 0.01, 1.0, base.lr_decay_rate
        )
        out["lr_staircase"] = st.checkbox("Exponential: staircase", base.lr_staircase)
        out["lr_min_fraction"] = checks.number(
            "Cosine: final fraction of the rate", 0.0, 1.0, base.lr_min_fraction
        )
        out["plateau_factor"] = checks.number("Plateau: factor", 0.01, 0.99, base.plateau_factor)
        out["plateau_patience"] = checks.number(
            "Plateau: patience (epochs)", 1, 100, base.plateau_patience
        )
        out["momentum"] = checks.number(
            "Momentum (SGD momentum / Nesterov)", 0.0, 0.999, base.momentum
        )
        out["weight_decay"] = checks.number(
            "Weight decay (AdamW)", 0.0, 1.0, base.weight_decay, format="%.4f"
        )
        out["clipnorm"] = _optional(st, "Clip each gradient to norm", base.clipnorm, 1.0)
        out["global_clipnorm"] = _optional(
            st, "Clip global gradient norm", base.global_clipnorm, 1.0
        )
        out["ema_momentum"] = _optional(
            st, "Weight moving average (EMA) momentum", base.ema_momentum, 0.99
        )
    with st.expander("Regularisation and loss"):
        out["l1"] = checks.number("L1 weight penalty", 0.0, 1.0, base.l1, format="%.6f")
        out["l2"] = checks.number("L2 weight penalty", 0.0, 1.0, base.l2, format="%.6f")
        out["dropout"] = _optional(st, "Dropout rate (overrides the model's)", base.dropout, 0.25)
        out["label_smoothing"] = checks.number("Label smoothing", 0.0, 0.5, base.label_smoothing)
        out["class_weight"] = st.selectbox(
            "Class weights",
            ["none", "balanced"],
            index=_index(["none", "balanced"], base.class_weight),
        )
        out["loss"] = st.selectbox(
            "Labels for the loss",
            ["sparse", "onehot"],
            index=_index(["sparse", "onehot"], base.loss),
            help="sparse: integer classes; onehot: categorical",
        )
        out["from_logits"] = st.checkbox("Loss from logits", base.from_logits)
    with st.expander("Validation and early stopping"):
        out["early_stopping_patience"] = _optional(
            st, "Early stopping patience (epochs)", base.early_stopping_patience, 3, integer=True
        )
        out["restore_best_weights"] = st.checkbox("Restore best weights", base.restore_best_weights)
        out["validation_split"] = _optional(
            st, "Validation split (instead of the fixed one)", base.validation_split, 0.2
        )
        out["k_folds"] = checks.number("K-fold cross-validation: K (1 = off)", 1, 20, 1)
    return out


def _optional(container, label: str, value, default, integer: bool = False):
    """A checkbox-enabled number input; None when unchecked."""
    on = container.checkbox(label, value is not None, key=f"use-{label}")
    number = container.number_input(
        f"{label} value",
        value=int(value if value is not None else default)
        if integer
        else float(value if value is not None else default),
        key=f"value-{label}",
        label_visibility="collapsed",
    )
    return (int(number) if integer else float(number)) if on else None


def _nearest(batch_size: int) -> int:
    return min(BATCH_SIZES, key=lambda b: abs(b - batch_size))
