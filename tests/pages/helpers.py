"""Helpers shared by the page tests: pick one AppTest widget by its label."""

from __future__ import annotations


def widget(widgets, label: str):
    """The one element of `widgets` (e.g. at.button) labelled `label`; fails unless exactly one."""
    matches = [w for w in widgets if w.label == label]
    assert len(matches) == 1, f"{label!r} among {[w.label for w in widgets]}"
    return matches[0]
