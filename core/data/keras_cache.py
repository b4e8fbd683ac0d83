"""Keras' downloadable datasets (`keras:mnist`, `keras:fashion_mnist`, `keras:cifar10`).

They are read from Keras' cache ($KERAS_HOME/datasets, default ~/.keras/datasets) in the layout
`keras.datasets.X.load_data()` leaves there. When the files are missing, a download is tried only
if the download host answers within a second or two; offline, a DatasetError says so at once.
"""

from __future__ import annotations

import gzip
import os
import pickle
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.npz import check_images, check_labels
from core.data.types import DatasetError, DatasetInfo, ImageDataset, to_float_images

DOWNLOAD_HOST = ("storage.googleapis.com", 443)
PROBE_SECONDS = 2.0
VALIDATION_FRACTION = 0.15  # of Keras' training split; Keras' test split stays the test split
SPLIT_SEED = 0


@dataclass(frozen=True)
class KerasSpec:
    title: str
    layouts: tuple[tuple[str, ...], ...]  # alternative sets of files under <keras home>/datasets
    input_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    download_mb: int
    host: tuple[str, int] = DOWNLOAD_HOST


_FASHION = "fashion-mnist/"
_FASHION_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz")
_FASHION_FILES += ("t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
_CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)

KERAS_DATASETS: dict[str, KerasSpec] = {
    "mnist": KerasSpec(
        "MNIST handwritten digits, 28x28 grayscale, 60,000 + 10,000 images",
        (("mnist.npz",),),
        (28, 28, 1),
        tuple(str(d) for d in range(10)),
        11,
    ),
    "fashion_mnist": KerasSpec(
        "Fashion-MNIST clothing, 28x28 grayscale, 60,000 + 10,000 images",
        (tuple(_FASHION + f for f in _FASHION_FILES),),
        (28, 28, 1),
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat")
        + ("Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        30,
    ),
    "cifar10": KerasSpec(
        "CIFAR-10 objects, 32x32 RGB, 50,000 + 10,000 images",
        (
            tuple(f"cifar-10-batches-py-target/cifar-10-batches-py/{f}" for f in _CIFAR_FILES),
            tuple(f"cifar-10-batches-py/{f}" for f in _CIFAR_FILES),  # older Keras versions
        ),
        (32, 32, 3),
        ("airplane", "automobile", "bird", "cat", "deer")
        + ("dog", "frog", "horse", "ship", "truck"),
        163,
        ("www.cs.toronto.edu", 443),
    ),
}


def keras_cache_dir() -> Path:
    """Where Keras keeps downloaded datasets: $KERAS_HOME/datasets, else ~/.keras/datasets."""
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    home = os.path.expanduser(home)
    if os.path.isdir(home) and not os.access(home, os.W_OK):  # Keras falls back to /tmp
        home = "/tmp/.keras"
    return Path(home) / "datasets"


def cached_files(key: str) -> list[Path] | None:
    """The cached files of a Keras dataset, or None if any is missing."""
    base = keras_cache_dir()
    for layout in _spec(key).layouts:
        paths = [base / f for f in layout]
        if all(p.is_file() for p in paths):
            return paths
    return None


def keras_info(key: str) -> DatasetInfo:
    spec = _spec(key)
    if cached_files(key):
        where = f"cached in {keras_cache_dir()}"
    else:
        where = f"needs a download of about {spec.download_mb} MB on first use"
    return DatasetInfo(
        name=f"keras:{key}",
        kind="image",
        description=f"{spec.title} (Keras dataset; {where}). Keras' test split is the test "
        "split; 15% of its training split (seed 0) is the validation split.",
        input_shape=spec.input_shape,
        class_names=spec.class_names,
    )


def load_keras(key: str) -> ImageDataset:
    """Read a Keras dataset from its cache; download it only if the machine is online."""
    spec, info = _spec(key), keras_info(key)
    files = cached_files(key)
    if files is not None:
        (x_train, y_train), (x_test, y_test) = _READERS[key](files)
    elif _offline(spec.host):
        raise DatasetError(
            f"keras:{key} needs a download (about {spec.download_mb} MB from {spec.host[0]}); "
            "this machine is offline; use the built-in digits/shapes instead, or copy the "
            f"files {', '.join(spec.layouts[0])} into {keras_cache_dir()}"
        )
    else:
        (x_train, y_train), (x_test, y_test) = _download(key)
    where = f"keras:{key}"
    x_train = check_images(np.asarray(x_train), f"{where} x_train")
    x_test = check_images(np.asarray(x_test), f"{where} x_test")
    y_train = check_labels(np.asarray(y_train), len(x_train), f"{where} y_train")
    y_test = check_labels(np.asarray(y_test), len(x_test), f"{where} y_test")
    if x_train.shape[1:] != spec.input_shape or x_test.shape[1:] != spec.input_shape:
        shape = x_train.shape[1:]
        raise DatasetError(f"{where}: cached images are {shape}, not {spec.input_shape}")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y_train))
    n_val = max(1, round(len(order) * VALIDATION_FRACTION))
    val, train = order[:n_val], order[n_val:]
    return ImageDataset(
        info,
        to_float_images(x_train[train]),
        y_train[train],
        to_float_images(x_train[val]),
        y_train[val],
        to_float_images(x_test),
        y_test,
    )


def is_online(host: tuple[str, int] = DOWNLOAD_HOST, timeout: float = PROBE_SECONDS) -> bool:
    """True if a TCP connection to host opens within timeout seconds (DNS included)."""
    result: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection(host, timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)  # bounds a hanging DNS lookup too
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _offline(host: tuple[str, int]) -> bool:
    if os.environ.get("TFLAB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return True
    return not is_online(host)


def _spec(key: str) -> KerasSpec:
    try:
        return KERAS_DATASETS[key]
    except KeyError:
        known = ", ".join(f"keras:{k}" for k in KERAS_DATASETS)
        raise DatasetError(f"unknown Keras dataset {key!r}; choose one of: {known}") from None


def _download(key: str):
    import keras

    try:
        return getattr(keras.datasets, key).load_data()
    except Exception as err:  # noqa: BLE001 - network errors come in many types
        raise DatasetError(f"keras:{key}: the download failed ({err})") from None


def _read_mnist(files: list[Path]):
    try:
        with np.load(files[0], allow_pickle=False) as data:
            arrays = [data[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    except Exception as err:  # noqa: BLE001 - a damaged cache file
        raise _damaged(files[0], err) from None
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])


def _read_fashion(files: list[Path]):
    def idx(path: Path, offset: int) -> np.ndarray:
        try:
            with gzip.open(path, "rb") as f:
                return np.frombuffer(f.read(), np.uint8, offset=offset)
        except Exception as err:  # noqa: BLE001 - a damaged cache file
            raise _damaged(path, err) from None

    y_train, y_test = idx(files[0], 8), idx(files[2], 8)
    x_train, x_test = idx(files[1], 16), idx(files[3], 16)
    if x_train.size != len(y_train) * 784 or x_test.size != len(y_test) * 784:
        raise _damaged(files[1], ValueError("image and label counts differ"))
    return (x_train.reshape(-1, 28, 28), y_train), (x_test.reshape(-1, 28, 28), y_test)


def _read_cifar(files: list[Path]):
    batches = [_read_cifar_batch(path) for path in files]
    x_train = np.concatenate([b[0] for b in batches[:-1]])
    y_train = np.concatenate([b[1] for b in batches[:-1]])
    return (x_train, y_train), batches[-1]


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One pickled CIFAR batch -> ((n, 32, 32, 3) uint8, (n,) labels); only numpy is unpickled."""
    try:
        with open(path, "rb") as f:
            batch = _NumpyOnlyUnpickler(f, encoding="bytes").load()
        data = np.asarray(batch[b"data"], np.uint8)
        labels = np.asarray(batch[b"labels"])
        return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels
    except Exception as err:  # noqa: BLE001 - a damaged or foreign file
        raise _damaged(path, err) from None


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and plain Python values, nothing that could run code."""

    ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
        }
    )

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        return super().find_class(module, name)


def _damaged(path: Path, err: Exception) -> DatasetError:
    return DatasetError(
        f"the cached file {path} cannot be read ({type(err).__name__}: {err}); delete it and "
        "download again"
    )


_READERS = {"mnist": _read_mnist, "fashion_mnist": _read_fashion, "cifar10": _read_cifar}
