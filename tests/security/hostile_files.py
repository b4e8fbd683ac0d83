"""Real hostile files for the security tests: each, if its payload ever runs, creates `marker`."""

from __future__ import annotations

from pathlib import Path


def obspy_pickle(marker: Path) -> bytes:
    """A protocol-0 pickle whose first bytes name obspy.core.stream (so ObsPy's PICKLE check
    unpickles it) and whose unpickling runs exec(): it writes `marker`."""
    code = f"open({str(marker)!r}, 'w').write('pwned')"
    return (
        b"S'obspy.core.stream'\n0"  # push the string ObsPy looks for, pop it again
        + b"cbuiltins\nexec\n(S"
        + repr(code).encode()
        + b"\ntR."
    )
