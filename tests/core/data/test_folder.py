"""Image class-folder datasets: formats, bad files, caching, names, paths kept in the data root."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data import decode as images
from core.data.builtin import BUILTIN
from core.data.folder import import_folder, parse_folder_spec
from core.data.registry import dataset_info, load_dataset
from core.data.root import resolve_in_data_root
from core.data.types import DatasetError
from tests.core.data.conftest import all_examples


def save(img: Image.Image, path: Path, fmt: str | None = None, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, fmt, **kwargs)
    return path


def rgb(colour, size=(40, 30)) -> Image.Image:
    return Image.new("RGB", size, colour)


def exif_rotated_jpeg(path: Path) -> None:
    """40x20 stored with red top / blue bottom, EXIF orientation 6: shown blue left / red right."""
    img = rgb((255, 0, 0), (40, 20))
    img.paste((0, 0, 255), (0, 10, 40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    save(img, path, "JPEG", exif=exif, quality=95)


def truncated_jpeg(path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "JPEG")
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])


def mixed_folder(root: Path) -> Path:
    """pets/a: png, jpeg, gif, bmp; pets/b: palette, RGBA, L, EXIF jpeg and four bad files."""
    pets = root / "pets"
    save(rgb((200, 30, 30)), pets / "a" / "red.png")
    save(rgb((30, 200, 30)), pets / "a" / "green.jpg", "JPEG")
    save(rgb((30, 30, 200)).convert("P"), pets / "a" / "blue.gif", "GIF")
    save(rgb((200, 200, 30)), pets / "a" / "yellow.bmp", "BMP")
    save(rgb((10, 120, 240)).quantize(8), pets / "b" / "palette.png")
    save(Image.new("RGBA", (40, 30), (0, 255, 0, 128)), pets / "b" / "rgba.png")
    save(Image.new("L", (40, 30), 77), pets / "b" / "gray.png")
    exif_rotated_jpeg(pets / "b" / "rotated.jpg")
    (pets / "b" / "empty.png").write_bytes(b"")
    truncated_jpeg(pets / "b" / "truncated.jpg")
    (pets / "b" / "notes.png").write_text("this is not an image")
    save(Image.new("L", (200, 200), 0), pets / "b" / "bomb.png")  # 40,000 px > patched limit
    return pets


# --- folder import -------------------------------------------------------------------------


def test_folder_import_reads_every_format_and_reports_bad_files(root, monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 10_000)
    mixed_folder(root)
    calls = []
    ds = import_folder("pets", size=16, progress=lambda done, total: calls.append((done, total)))

    assert ds.report.imported == {"a": 4, "b": 4}
    reasons = dict(ds.report.skipped)
    assert set(reasons) == {"b/empty.png", "b/truncated.jpg", "b/notes.png", "b/bomb.png"}
    assert "empty" in reasons["b/empty.png"]
    assert "truncated" in reasons["b/truncated.jpg"]
    assert "not a readable image" in reasons["b/notes.png"]
    assert "too large" in reasons["b/bomb.png"]
    x, y = all_examples(ds)
    assert x.shape == (8, 16, 16, 3) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [4, 4]
    assert ds.info.class_names == ("a", "b") and ds.info.input_shape == (16, 16, 3)
    assert calls[0] == (0, 12) and calls[-1] == (12, 12)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_pillow_decompression_bomb_is_skipped_not_fatal(root, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5_000)  # Pillow's own bomb guard
    for i in range(3):
        save(rgb((i * 50, 0, 0), (20, 20)), root / "set" / "small" / f"{i}.png")
    save(rgb((0, 0, 0), (120, 120)), root / "set" / "small" / "huge.png")  # 14,400 px
    ds = import_folder("set", size=8)
    assert ds.report.imported == {"small": 3}
    assert "decompression bomb" in dict(ds.report.skipped)["small/huge.png"]


def test_exif_orientation_and_channel_conversions(root):
    mixed_folder(root)
    (root / "pets" / "b" / "bomb.png").unlink()
    ds = import_folder("pets", size=16)
    x, y = all_examples(ds)
    rotated = [im for im in x if im[8, 2, 2] > 0.8 and im[8, 13, 0] > 0.8]  # blue left, red right
    assert len(rotated) == 1, "EXIF orientation was not applied"
    gray = [im for im in x if np.allclose(im, 77 / 255, atol=1 / 255)]
    assert len(gray) == 1 and gray[0].shape == (16, 16, 3)  # L converted to RGB
    rgba = [im for im in x if np.allclose(im, [0, 1, 0], atol=1 / 255)]
    assert len(rgba) == 1  # alpha dropped, colour kept


def test_channels_follow_the_data_or_the_name(root):
    save(Image.new("L", (20, 20), 10), root / "gray" / "a" / "0.png")
    save(Image.new("L", (20, 20), 200), root / "gray" / "b" / "0.png")
    gif = Image.new("P", (20, 20), 3)
    gif.putpalette([v for i in range(256) for v in (i, i, i)])
    save(gif, root / "gray" / "b" / "1.gif", "GIF")
    assert import_folder("gray", size=8).info.input_shape == (8, 8, 1)
    assert load_dataset("folder:gray@8x3").x_train.shape[1:] == (8, 8, 3)
    save(rgb((1, 2, 250), (20, 20)), root / "gray" / "a" / "colour.png")
    assert import_folder("gray", size=8).info.input_shape == (8, 8, 3)
    assert load_dataset("folder:gray@8x1").x_train.shape[1:] == (8, 8, 1)


def test_second_import_reads_the_cache_and_a_changed_folder_invalidates_it(root, monkeypatch):
    for i in range(6):
        kind = "cat" if i % 2 else "dog"
        save(rgb((i * 40, 0, 0), (10, 10)), root / "pets" / kind / f"{i}.png")
    first = import_folder("pets", size=8)
    assert first.report.from_cache is False
    assert len(list((root / ".cache").glob("folder-*.npz"))) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although the folder did not change")

    decode_image = images.decode_image
    monkeypatch.setattr(images, "decode_image", no_decoding)
    calls = []
    second = import_folder("pets", size=8, progress=lambda d, t: calls.append((d, t)))
    assert second.report.from_cache is True and calls == [(6, 6)]
    np.testing.assert_array_equal(first.x_train, second.x_train)
    np.testing.assert_array_equal(first.y_test, second.y_test)

    info = dataset_info("folder:pets@8")  # reads the cache's shape, not its arrays
    assert info.input_shape == (8, 8, 3) and "6 images (0 files skipped)" in info.description
    monkeypatch.setattr(images, "decode_image", decode_image)
    save(rgb((9, 9, 9), (10, 10)), root / "pets" / "cat" / "new.png")
    third = import_folder("pets", size=8)
    assert third.report.from_cache is False and third.report.imported == {"cat": 4, "dog": 3}
    assert len(list((root / ".cache").glob("folder-*.npz"))) == 1  # the stale cache was removed


def test_load_dataset_and_dataset_info_dispatch_folder_names(root, monkeypatch):
    for i in range(20):
        save(rgb((i * 10, 0, 0), (12, 12)), root / "shapes" / f"c{i % 4}" / f"{i}.png")
    (root / "shapes" / "loose.png").write_bytes(b"x")
    (root / "shapes" / "c0" / ".DS_Store").write_bytes(b"junk")

    decode_image = images.decode_image
    monkeypatch.setattr(images, "decode_image", lambda *a, **k: pytest.fail("info decoded"))
    info = dataset_info("folder:shapes@24")
    assert info.input_shape == (24, 24, 3) and info.class_names == ("c0", "c1", "c2", "c3")
    monkeypatch.setattr(images, "decode_image", decode_image)

    ds = load_dataset("folder:shapes@24")
    assert ds.info.name == "folder:shapes@24" and ds.split_sizes() == {
        "train": 14,
        "validation": 3,
        "test": 3,
    }
    assert ds.report.skipped == [("loose.png", "not inside a class folder")]
    assert load_dataset("folder:shapes@24") is ds  # lru_cache
    load_dataset.cache_clear()
    again = load_dataset("folder:shapes@24")
    np.testing.assert_array_equal(ds.y_train, again.y_train)  # seeded split


def test_folder_with_no_readable_image_fails_with_reasons(root):
    (root / "junk" / "a").mkdir(parents=True)
    (root / "junk" / "a" / "x.png").write_text("nope")
    with pytest.raises(DatasetError, match="no readable images.*a/x.png"):
        import_folder("junk")
    (root / "flat").mkdir()
    save(rgb((0, 0, 0)), root / "flat" / "one.png")
    with pytest.raises(DatasetError, match="one sub-folder per class|own sub-folder"):
        import_folder("flat")


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("pets", ("pets", 64, None)),
        ("pets@32", ("pets", 32, None)),
        ("pets@32x1", ("pets", 32, 1)),
        ("me@home/pets@16x3", ("me@home/pets", 16, 3)),
        ("me@home", ("me@home", 64, None)),
    ],
)
def test_parse_folder_spec(spec, expected):
    assert parse_folder_spec(spec) == expected


@pytest.mark.parametrize("name", ["folder:pets@4", "folder:pets@9999", "folder:pets@32x2"])
def test_bad_folder_options_are_refused(root, name):
    with pytest.raises(DatasetError, match="size|channels"):
        dataset_info(name)


def test_unknown_names_list_the_choices():
    with pytest.raises(DatasetError, match="digits.*folder:<path>"):
        dataset_info("mnist")
    with pytest.raises(DatasetError, match="give a path"):
        load_dataset("folder:")
    assert dataset_info("digits") is BUILTIN["digits"]


# --- paths confined to the data root ---------------------------------------------------------


@pytest.fixture
def outside(tmp_path) -> Path:
    """A valid class folder next to (not inside) the data root."""
    for i in range(3):
        save(rgb((0, 0, i), (8, 8)), tmp_path / "outside" / "a" / f"{i}.png")
    return tmp_path / "outside"


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink", "dotdot_inside"])
def test_paths_outside_the_data_root_are_refused(root, outside, how):
    names = {
        "dotdot": "folder:../outside",
        "absolute": f"folder:{outside}",
        "symlink": "folder:link",
        "dotdot_inside": "folder:sub/../../outside@16",
    }
    (root / "sub").mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    for call in (dataset_info, load_dataset):
        with pytest.raises(DatasetError, match="outside the data root"):
            call(names[how])
    with pytest.raises(DatasetError, match="outside the data root"):
        import_folder(outside)


def test_symlinks_inside_a_folder_that_point_outside_are_skipped(root, outside):
    for i in range(3):
        save(rgb((i, 0, 0), (8, 8)), root / "pets" / "cat" / f"{i}.png")
    (root / "pets" / "cat" / "evil.png").symlink_to(outside / "a" / "0.png")
    (root / "pets" / "dog").symlink_to(outside / "a", target_is_directory=True)
    (root / "inside.png").write_bytes((root / "pets" / "cat" / "0.png").read_bytes())
    (root / "pets" / "cat" / "ok.png").symlink_to(root / "inside.png")  # stays inside: used
    ds = import_folder("pets", size=8)
    assert ds.report.imported == {"cat": 4}
    assert dict(ds.report.skipped) == {
        "cat/evil.png": "links outside the data root",
        "dog/": "links outside the data root",
    }


def test_relative_paths_start_at_the_data_root(root):
    (root / "x").mkdir()
    assert resolve_in_data_root("x") == root / "x"
    assert resolve_in_data_root(root / "x") == root / "x"
    with pytest.raises(DatasetError, match="not found"):
        resolve_in_data_root("missing")
