"""Continue a finished run for more epochs, as a NEW run that starts from the old run's checkpoint.

Every run that trained ends with runs/<id>/checkpoint.weights.h5: the trainer's weights and the
optimizer's state (its step count, Adam moments, ...). `continue_run` clones the old run's config
with `epochs` = the extra epochs and `continue_from` = the old run's id, and launches it
(core.runs.launcher.launch); the new worker's train_run loads the old checkpoint before fit
(`restore_checkpoint`), so the optimizer's step count goes on from where it was.
The old run is never changed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from core import paths
from core.access import authorize, os_user
from core.config import RunConfig
from core.runs import artifacts, launcher

CHECKPOINT = "checkpoint.weights.h5"  # trainer weights + optimizer state after the last epoch
CONTINUE_FROM = "continue_from.json"  # {"run": old run id}, also written for readers of the folder
CONTINUABLE = ("succeeded", "stopped")


def save_checkpoint(run_dir: Path, trainer) -> None:
    """trainer.save_weights (weights and optimizer variables) to run_dir/CHECKPOINT, atomically."""
    run_dir = Path(run_dir)
    fd, tmp = tempfile.mkstemp(dir=run_dir, prefix=".checkpoint-", suffix=".weights.h5")
    os.close(fd)
    try:
        trainer.save_weights(tmp, overwrite=True)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, run_dir / CHECKPOINT)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, trainer) -> int:
    """Load a checkpoint into a compiled trainer; returns the optimizer's step count."""
    import keras

    if not trainer.optimizer.built:
        trainer.optimizer.build(trainer.trainable_variables)  # its variables must exist first
    trainer.load_weights(str(path))
    # a MirroredVariable under tf.distribute has no int()
    return int(keras.ops.convert_to_numpy(trainer.optimizer.iterations))


def restore_checkpoint(run_dir: Path, trainer, source: str = "") -> tuple[str, int] | None:
    """(old run id, optimizer step) if this run continues run `source` (its config's
    continue_from) and that checkpoint was loaded into `trainer`; None for an ordinary run.
    ValueError when the old checkpoint is gone or does not fit the model."""
    if not source:
        return None
    checkpoint = Path(run_dir).parent / source / CHECKPOINT
    if not checkpoint.is_file():
        raise ValueError(f"run {source} has no checkpoint {checkpoint} to continue from")
    try:
        return source, load_checkpoint(checkpoint, trainer)
    except (ValueError, OSError, KeyError) as err:
        raise ValueError(f"the checkpoint of run {source} does not fit this model: {err}") from None


def continue_run(
    run_id: str, epochs: int, root: Path | None = None, user: str | None = None
) -> str:
    """Launch a new run that trains `run_id`'s model `epochs` more epochs; returns its id.

    Only the old run's owner or an admin may (core.access.RunPermissionError); user None is the
    OS user, as on the command line. ValueError for an unknown, unfinished or checkpoint-less run.
    """
    root = root or paths.runs_dir()
    store = launcher.open_store(root)
    run = store.get_run(run_id)
    if run is None:
        raise ValueError(f"no run {run_id} in {root}")
    authorize(run_id, run.owner, "continue", user)
    if run.status not in CONTINUABLE:
        raise ValueError(
            f"run {run_id} is {run.status}; only succeeded or stopped runs can be continued"
        )
    if epochs < 1:
        raise ValueError("continue needs at least 1 more epoch")
    if not (paths.run_dir(run_id, root) / CHECKPOINT).is_file():
        raise ValueError(
            f"run {run_id} has no checkpoint ({CHECKPOINT}); it was trained before runs kept "
            "one. Clone it instead and train it again."
        )
    base = RunConfig.from_dict(run.config).to_dict()
    name = f"{run.name or run.id} +{epochs} epochs"
    config = RunConfig.from_dict(base | {"epochs": epochs, "name": name, "continue_from": run_id})
    new_id = launcher.launch(config, root, owner=os_user() if user is None else user)
    artifacts.write_json(paths.run_dir(new_id, root), CONTINUE_FROM, {"run": run_id})
    store.add_event(run_id, f"continued as run {new_id} for {epochs} more epochs")
    store.add_event(new_id, f"continues run {run_id} from its checkpoint")
    return new_id
