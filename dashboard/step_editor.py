"""step_editor: the widget that edits an ordered list of augmentation steps from an op registry."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

Limits = Mapping[str, Mapping[str, tuple[float, float]]]  # {op: {field: (low, high)}}

UNITS = {"db": "dB", "s": "s"}  # unit words of setting names: snr_db_min, max_gap_s


def step_editor(
    ops: Mapping[str, type],
    key: str,
    defaults: list[dict] | None = None,
    limits: Limits | None = None,
) -> list[dict]:
    """Draw add / move / remove / settings widgets; returns the spec [{"op": name, **settings}].

    ops: a registry of op classes, core.augment.image_ops.OPS or
    core.seismic.waveform_augment.WAVEFORM_OPS: each has LABEL, PARAMS {field: (low, high,
    step)} (an int slider when low and step are ints, as both op bases coerce), CHOICES
    {field: options} and settings() (the defaults). Session state under the `key` prefix:

        {key}-steps          [{"uid": n, "op": name, **settings}, ...]
        {key}-next-uid       the next uid (never reused, so widget keys stay unique)
        {key}-add-op         the "Add an operation" selectbox; {key}-add its button
        {key}-up-{uid}       move up; {key}-down-{uid} move down; {key}-remove-{uid} remove
        {key}-{uid}-{field}  the slider or selectbox of one setting

    defaults: the steps to start with when `key` has no steps yet (missing settings take the
    op's defaults). limits: narrower (low, high) slider ranges by op and field than PARAMS
    gives, e.g. a window length that cannot exceed the data's. Steps naming an op that is not
    in `ops` are dropped.
    """
    steps_key = f"{key}-steps"
    if steps_key not in st.session_state:
        st.session_state[steps_key] = [
            _new_step(ops, key, s["op"], s) for s in defaults or () if s.get("op") in ops
        ]
    steps = st.session_state[steps_key]
    steps[:] = [s for s in steps if s["op"] in ops]
    add_col, button_col = st.columns([2, 1], vertical_alignment="bottom")
    new_op = add_col.selectbox(
        "Add an operation", list(ops), key=f"{key}-add-op", format_func=lambda n: ops[n].LABEL
    )
    if button_col.button("Add", key=f"{key}-add", icon=":material/add:"):
        steps.append(_new_step(ops, key, new_op, {}))
    for k, step in enumerate(list(steps)):
        op_cls = ops[step["op"]]
        uid = step["uid"]
        with st.container(border=True):
            st.markdown(f"**{k + 1}. {op_cls.LABEL}**")
            up, down, remove = st.columns(3)
            if up.button(
                ":material/arrow_upward:", key=f"{key}-up-{uid}", disabled=k == 0, help="Move up"
            ):
                steps[k - 1], steps[k] = steps[k], steps[k - 1]
                st.rerun()
            if down.button(
                ":material/arrow_downward:",
                key=f"{key}-down-{uid}",
                disabled=k == len(steps) - 1,
                help="Move down",
            ):
                steps[k + 1], steps[k] = steps[k], steps[k + 1]
                st.rerun()
            if remove.button(":material/delete:", key=f"{key}-remove-{uid}", help="Remove"):
                steps.pop(k)
                st.rerun()
            _settings_widgets(op_cls, step, f"{key}-{uid}", (limits or {}).get(step["op"], {}))
    return [{name: v for name, v in s.items() if name != "uid"} for s in steps]


def _new_step(ops: Mapping[str, type], key: str, op: str, given: dict) -> dict:
    """A step with a fresh uid: the op's default settings, overridden by those given."""
    uid = st.session_state.get(f"{key}-next-uid", 0)
    st.session_state[f"{key}-next-uid"] = uid + 1
    settings = {name: v for name, v in given.items() if name != "op"}
    return {"uid": uid, "op": op, **ops[op]().settings(), **settings}


def _settings_widgets(op_cls, step: dict, prefix: str, limits: Mapping) -> None:
    """One slider per PARAMS field, one selectbox per CHOICES field; writes into `step`."""
    for name, (low, high, size) in op_cls.PARAMS.items():
        low, high = limits.get(name, (low, high))
        cast = int if _is_int(low) and _is_int(size) else float
        low, high = cast(low), max(cast(low), cast(high))
        if high == low:  # st.slider refuses an empty range
            step[name] = low
            st.caption(f"{field_label(name)}: {low:g}")
            continue
        value = min(max(cast(step.get(name, low)), low), high)
        step[name] = st.slider(
            field_label(name), low, high, value, cast(size), key=f"{prefix}-{name}"
        )
    for name, options in op_cls.CHOICES.items():
        options = list(options)
        current = step.get(name, options[0])
        step[name] = st.selectbox(
            field_label(name),
            options,
            index=options.index(current) if current in options else 0,
            key=f"{prefix}-{name}",
        )


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def field_label(name: str) -> str:
    """Setting name -> widget label: 'snr_db_min' -> 'SNR min (dB)', 'max_delta' -> 'max delta'."""
    words = name.split("_")
    unit = next((UNITS[w] for w in words if w in UNITS), "")
    text = " ".join(w for w in words if w not in UNITS).replace("snr", "SNR")
    text = text.replace("freqmin", "low corner (Hz)").replace("freqmax", "high corner (Hz)")
    return f"{text} ({unit})" if unit else text
