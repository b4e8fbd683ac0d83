"""Which ObsPy format a user's file is in, and reading it without ever unpickling anything.

`obspy.read` without a format tries every plug-in in turn, PICKLE among them, and PICKLE's check
unpickles any file whose first bytes name `obspy.core.stream`: arbitrary code from an upload.
Here only the formats in ALLOWED_FORMATS are checked (ObsPy's own `isFormat` per format, in
ObsPy's preferred order), and the file is read by that one format's `readFormat`, called on the
path itself: no glob expansion, no unpacking of archives, no format that names other files
(CSS / NNSA_KB_CORE wfdisc tables and Q headers point at data files elsewhere on the disk).
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

# Formats whose whole content is in the one file and whose readers parse bytes (no code, no
# other files). PICKLE is never in this list.
ALLOWED_FORMATS = (
    "MSEED", "SAC", "GSE2", "SEISAN", "SACXY", "GSE1", "SH_ASC", "SLIST", "TSPAIR", "Y",
    "SEGY", "SU", "SEG2", "WAV", "WIN", "AH", "PDAS", "KINEMETRICS_EVT", "GCF", "DMX",
    "KNET", "REFTEK130", "RG16",
)  # fmt: skip
REFUSED_FORMATS = ("PICKLE", "CSS", "NNSA_KB_CORE", "Q")
_ALLOWED_TEXT = "MiniSEED, SAC, GSE2, SEISAN, SEG-Y, SEG-2, WAV, WIN, AH, KNET and others"


class UnknownWaveformFormat(ValueError):
    """The file is in none of the allowed formats; the message is meant for the user."""


def _plugin(fmt: str, name: str):
    """ObsPy's `isFormat` or `readFormat` function of one waveform format (public entry points)."""
    (point,) = [ep for ep in entry_points(group=f"obspy.plugin.waveform.{fmt}") if ep.name == name]
    return point.load()


def allowed_formats() -> list[str]:
    """The allowed formats this ObsPy installation has, in ObsPy's detection order."""
    from obspy.core.util.base import WAVEFORM_PREFERRED_ORDER

    installed = {ep.name for ep in entry_points(group="obspy.plugin.waveform")}
    ordered = [f for f in WAVEFORM_PREFERRED_ORDER if f in ALLOWED_FORMATS]
    ordered += [f for f in ALLOWED_FORMATS if f not in ordered]
    return [f for f in ordered if f in installed]


def detect_format(path: str | Path) -> str:
    """The first allowed format whose ObsPy check accepts the file, else UnknownWaveformFormat."""
    path = Path(path)
    for fmt in allowed_formats():
        try:
            if _plugin(fmt, "isFormat")(str(path)):
                return fmt
        except Exception:  # noqa: BLE001 - a format check that trips over foreign bytes says no
            continue
    raise UnknownWaveformFormat(
        f"{path.name}: not a seismic format this server reads ({_ALLOWED_TEXT}); "
        "ObsPy pickles and files that refer to other files are refused"
    )


def read_waveform_file(path: str | Path):
    """Read an allowed-format file -> (obspy Stream, format name). Never runs code from the file."""
    path = Path(path)
    fmt = detect_format(path)
    return _plugin(fmt, "readFormat")(str(path)), fmt
