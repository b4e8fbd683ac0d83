"""core.models.upload_store: uploads are kept by digest for reruns, and a new upload prunes
folders unused for over a day and, least recently used first, those beyond the size cap (never
the new one, nor one used in the last minutes)."""

from __future__ import annotations

import os
import time

from core.models import upload_store
from core.models.upload_store import prune_uploads, save_upload, uploads_dir


def aged(path, seconds: float):
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))
    return path


def test_same_bytes_same_file_and_names_are_made_safe(tmp_path):
    first = save_upload("../my model.keras", b"abc", tmp_path)
    again = save_upload("../my model.keras", b"abc", tmp_path)
    other = save_upload("my model.keras", b"abcd", tmp_path)
    assert first == again and first.name == "my_model.keras" and first.read_bytes() == b"abc"
    assert first.parent.parent == tmp_path and other.parent != first.parent
    assert oct(first.parent.stat().st_mode & 0o777) == "0o700"
    assert not list(tmp_path.rglob("*.partial"))


def test_a_new_upload_removes_folders_unused_for_a_day(tmp_path):
    old = aged(save_upload("old.keras", b"old", tmp_path).parent, 25 * 3600)
    recent = aged(save_upload("recent.keras", b"recent", tmp_path).parent, 3600)
    new = save_upload("new.keras", b"new", tmp_path)
    assert not old.exists() and recent.is_dir() and new.is_file()


def test_reusing_an_upload_keeps_it_fresh(tmp_path):
    path = save_upload("m.keras", b"m", tmp_path)
    aged(path.parent, 25 * 3600)
    assert save_upload("m.keras", b"m", tmp_path) == path and path.is_file()
    assert time.time() - path.parent.stat().st_mtime < 60
    assert prune_uploads(tmp_path) == []


def test_size_cap_removes_least_recently_used_first_never_the_one_in_use(tmp_path):
    a = aged(save_upload("a.keras", b"a" * 400, tmp_path).parent, 3 * 3600)
    b = aged(save_upload("b.keras", b"b" * 400, tmp_path).parent, 2 * 3600)
    c = aged(save_upload("c.keras", b"c" * 400, tmp_path).parent, 60)  # used a minute ago
    keep = save_upload("d.keras", b"d" * 400, tmp_path).parent
    removed = prune_uploads(tmp_path, keep=keep, max_bytes=1000)
    # 1600 bytes: drop a (oldest), then b; c is in use by someone (recent), d is the new one
    assert removed == [a, b] and c.is_dir() and keep.is_dir()
    assert prune_uploads(tmp_path, keep=keep, max_bytes=10) == []  # c still too recent


def test_root_is_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("TFLAB_UPLOADS_DIR", str(tmp_path / "ups"))
    assert uploads_dir() == (tmp_path / "ups").resolve() and uploads_dir().is_dir()
    path = save_upload("x.keras", b"x")
    assert path.parent.parent == (tmp_path / "ups").resolve()
    assert upload_store.MAX_AGE_S == 24 * 3600
