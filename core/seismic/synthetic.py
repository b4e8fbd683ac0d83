"""Synthetic labelled three-component earthquake windows (no download, seeded, vectorised).

Each window (samples, 3) float32, channels E, N, Z, in arbitrary "counts", holds:
  * coloured background noise: power law f^-beta (beta 0.5-2) plus a microseism peak near
    0.1-0.3 Hz, a little different on each component;
  * a P wave: band-limited (Brune-like velocity spectrum, corner 2-15 Hz, t* attenuation), a
    short rise and exponential decay (0.5-3 s), polarised along the ray (strongest on Z for the
    steep incidence of 10-40 degrees, radial part along a random back-azimuth), plus scattered
    energy on all components;
  * an S wave 1-25 s later: lower corner (0.35-0.7 x the P corner), SH on the transverse
    horizontal, SV radial/vertical, longer coda (1.5-8 s), S/P amplitude ratio 1.2-6;
  * an SNR of 0-30 dB (P energy in the first second after the onset over the noise energy).

About 86 % of windows have P and S inside, 10 % have S beyond the end (its = NO_PICK) and 4 %
are noise only (itp = its = NO_PICK). The same (n, seed, samples, sampling_rate) always gives
identical arrays: all randomness comes from np.random.default_rng(seed).
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft

from core.seismic.windows import NO_PICK, WaveformSet

NOISE_ONLY_FRACTION = 0.04
NO_S_FRACTION = 0.10
SP_RANGE_S = (1.0, 25.0)
SNR_RANGE_DB = (0.0, 30.0)
CHUNK = 256  # windows rendered at once (bounds memory: about 60 MB per chunk of 3001 samples)
CHANNELS = ("HHE", "HHN", "HHZ")
NOISE_KEYS = ("noise_beta", "microseism_hz", "microseism_gain")


def make_synthetic(
    n: int, seed: int, samples: int = 3001, sampling_rate: float = 100.0
) -> WaveformSet:
    """n windows (n, samples, 3) float32 with itp/its labels (sample indices or NO_PICK)."""
    if n < 1 or samples < 100:
        raise ValueError(f"need n >= 1 and samples >= 100, got n={n}, samples={samples}")
    rng = np.random.default_rng(seed)
    params = draw_event_parameters(rng, n, samples, sampling_rate)
    data = np.empty((n, samples, 3), np.float32)
    for start in range(0, n, CHUNK):
        part = {k: v[start : start + CHUNK] for k, v in params.items()}
        data[start : start + CHUNK] = render(part, rng, samples, sampling_rate, with_noise=True)
    itp = np.where(params["has_p"], params["itp"], NO_PICK).astype(np.int64)
    its = np.where(params["its"] < samples, params["its"], NO_PICK)
    its = np.where(params["has_p"], its, NO_PICK).astype(np.int64)
    meta = [
        {
            "station": f"SY.S{i:04d}",
            "channels": list(CHANNELS),
            "present": [True, True, True],
            "start_time": None,
            "source": f"synthetic seed={seed} #{i}",
            "snr_db": round(float(params["snr_db"][i]), 2) if params["has_p"][i] else None,
            "sp_s": round(float(params["sp_s"][i]), 3) if its[i] >= 0 else None,
            "back_azimuth_deg": round(float(np.degrees(params["baz"][i])), 1),
            "fc_p_hz": round(float(params["fc_p"][i]), 2),
            "fc_s_hz": round(float(params["fc_s"][i]), 2),
        }
        for i in range(n)
    ]
    return WaveformSet(data, itp, its, float(sampling_rate), meta)


def synthetic_event(
    rng: np.random.Generator, samples: int, sampling_rate: float = 100.0
) -> tuple[np.ndarray, int, int | None]:
    """One noise-free event: ((samples, 3) float32, P rms 1; itp; its or None if S is out)."""
    params = draw_event_parameters(rng, 1, samples, sampling_rate, noise_only_fraction=0.0)
    params["snr_db"][:] = 0.0  # P rms 1 relative to unit noise, and no noise is added
    data = render(params, rng, samples, sampling_rate, with_noise=False)[0]
    its = int(params["its"][0])
    return data, int(params["itp"][0]), its if its < samples else None


def draw_event_parameters(
    rng: np.random.Generator,
    n: int,
    samples: int,
    sampling_rate: float,
    noise_only_fraction: float = NOISE_ONLY_FRACTION,
) -> dict[str, np.ndarray]:
    """Per-window random parameters, each an (n,) array (times in s, angles in rad, Hz)."""
    duration = (samples - 1) / sampling_rate
    margin = min(1.0, 0.05 * duration)
    kind = rng.uniform(size=n)
    has_p = kind >= noise_only_fraction
    s_inside = kind >= noise_only_fraction + NO_S_FRACTION
    # S inside: S-P log-uniform within what fits, then P uniform where both fit
    sp_hi = np.clip(min(SP_RANGE_S[1], duration - 2 * margin - 0.5), 0.2, None)
    sp_lo = min(SP_RANGE_S[0], sp_hi)
    sp_in = np.exp(rng.uniform(np.log(sp_lo), np.log(sp_hi) + 1e-9, size=n))
    p_in = margin + rng.uniform(size=n) * np.clip(duration - 2 * margin - sp_in, 0, None)
    # S outside: P anywhere in the first 80 %, S 0.5-10 s after the end of the window
    p_out = margin + rng.uniform(size=n) * max(0.8 * duration - margin, 0.0)
    sp_out = duration - p_out + rng.uniform(0.5, 10.0, size=n)
    p_s = np.where(s_inside, p_in, p_out)
    sp_s = np.where(s_inside, sp_in, sp_out)
    itp = np.round(p_s * sampling_rate).astype(np.int64)
    its = np.minimum(itp + np.round(sp_s * sampling_rate).astype(np.int64), samples + 10**6)
    its = np.where(s_inside, np.minimum(its, samples - 2), np.maximum(its, samples))
    fc_p = np.exp(rng.uniform(np.log(2.0), np.log(15.0), size=n))
    distance_factor = np.clip(sp_s / SP_RANGE_S[1], 0.02, 1.0)
    return {
        "has_p": has_p,
        "itp": itp,
        "its": its,
        "sp_s": (its - itp) / sampling_rate,
        "snr_db": rng.uniform(*SNR_RANGE_DB, size=n),
        "sp_ratio": np.exp(rng.uniform(np.log(1.2), np.log(6.0), size=n)),
        "fc_p": fc_p,
        "fc_s": fc_p * rng.uniform(0.35, 0.7, size=n),
        "tstar": 0.04 * distance_factor * rng.uniform(0.5, 1.5, size=n),
        "baz": rng.uniform(0, 2 * np.pi, size=n),
        "inc_p": np.radians(rng.uniform(10, 40, size=n)),
        "inc_s": np.radians(rng.uniform(5, 30, size=n)),
        "sv_ratio": rng.uniform(0.3, 1.0, size=n),
        "polarity": rng.choice([-1.0, 1.0], size=n),
        "rise_p": rng.uniform(0.02, 0.2, size=n),
        "rise_s": rng.uniform(0.05, 0.4, size=n),
        "decay_p": rng.uniform(0.5, 3.0, size=n),
        "decay_s": rng.uniform(1.5, 8.0, size=n) * (0.7 + distance_factor),
        "scatter": rng.uniform(0.15, 0.45, size=n),
        "noise_beta": rng.uniform(0.5, 2.0, size=n),
        "microseism_hz": rng.uniform(0.1, 0.3, size=n),
        "microseism_gain": np.exp(rng.uniform(np.log(0.3), np.log(10.0), size=n)),
        "gain": np.exp(rng.uniform(np.log(10.0), np.log(1e4), size=n)),
    }


def render(
    p: dict[str, np.ndarray],
    rng: np.random.Generator,
    samples: int,
    sampling_rate: float,
    with_noise: bool,
) -> np.ndarray:
    """Draw the waveforms for parameter arrays of m windows -> (m, samples, 3) float32."""
    m = len(p["itp"])
    nfft = sfft.next_fast_len(samples, real=True)
    freqs = np.fft.rfftfreq(nfft, 1.0 / sampling_rate).astype(np.float32)
    nf = len(freqs)
    f32 = {k: np.asarray(v, np.float32)[:, None, None] for k, v in p.items() if k != "has_p"}
    pol_p, pol_sh, pol_sv = _polarisations(p)  # (m, 3, 1) each
    scatter = f32["scatter"]
    # each phase on each component = polarised source + scattered energy, mixed in the
    # frequency domain (it is linear), so one inverse FFT per component and phase
    mix = pol_p * (1 - scatter) * _white(rng, m, 1, nf) + scatter * _white(rng, m, 3, nf)
    p_wave = _to_time(mix, _source_spectrum(freqs, p["fc_p"], p["tstar"]), samples, nfft)
    mix = pol_sh * _white(rng, m, 1, nf) + pol_sv * f32["sv_ratio"] * _white(rng, m, 1, nf)
    mix = mix * (1 - scatter) + scatter * _white(rng, m, 3, nf)
    s_wave = _to_time(mix, _source_spectrum(freqs, p["fc_s"], 1.5 * p["tstar"]), samples, nfft)

    t = np.arange(samples, dtype=np.float32)[None, None, :] / np.float32(sampling_rate)
    env_p = _envelope(t - f32["itp"] / np.float32(sampling_rate), f32["rise_p"], f32["decay_p"])
    env_s = _envelope(t - f32["its"] / np.float32(sampling_rate), f32["rise_s"], f32["decay_s"])
    one_second = max(1, int(round(sampling_rate)))
    p_rms = _rms_after(p_wave, env_p, p["itp"], one_second)
    s_rms = _rms_after(s_wave, env_s, np.minimum(p["its"], samples - 1), one_second)
    p_amp = np.where(p["has_p"], 10 ** (p["snr_db"] / 20), 0.0) / np.maximum(p_rms, 1e-12)
    s_amp = p_amp * p_rms * p["sp_ratio"] / np.maximum(s_rms, 1e-12)
    s_amp = np.where(p["its"] < samples, s_amp, 0.0)
    env_p *= p_amp.astype(np.float32)[:, None, None]
    env_s *= s_amp.astype(np.float32)[:, None, None]
    out = p_wave
    out *= env_p
    s_wave *= env_s
    out += s_wave
    if with_noise:
        level = rng.uniform(0.8, 1.2, size=(m, 3, 1)).astype(np.float32)
        out += _to_time(_white(rng, m, 3, nf) * level, _noise_spectrum(freqs, p), samples, nfft)
        out *= f32["gain"]
    return np.ascontiguousarray(out.transpose(0, 2, 1))


def _white(rng: np.random.Generator, m: int, k: int, nf: int) -> np.ndarray:
    """(m, k, nf) complex64 white spectra: real and imaginary parts uniform in [-1, 1).

    Uniform (not Gaussian) spectral values are several times cheaper to draw; after the inverse
    FFT every sample is a sum of hundreds of them, so the time series is Gaussian all the same.
    """
    parts = rng.random((m, k, nf, 2), dtype=np.float32)
    parts *= 2
    parts -= 1
    return parts.view(np.complex64)[..., 0]


def _to_time(white: np.ndarray, amp: np.ndarray, samples: int, nfft: int) -> np.ndarray:
    """Shape white spectra (m, k, nf) by amp (m, nf) -> (m, k, samples) float32, about unit std."""
    amp = amp.astype(np.float32)
    amp /= np.sqrt(np.maximum((amp**2).sum(axis=1, keepdims=True), 1e-30))
    # E|white|^2 = 2/3 and the inverse FFT of a one-sided spectrum has variance
    # 2 * sum(E|X|^2 amp^2) / nfft^2, so this factor gives unit variance
    spec = white * (amp * np.float32(nfft * np.sqrt(0.75)))[:, None, :]
    return sfft.irfft(spec, n=nfft, axis=-1, workers=2)[..., :samples]


def _source_spectrum(freqs: np.ndarray, fc: np.ndarray, tstar: np.ndarray) -> np.ndarray:
    """Brune-like ground-velocity amplitude (m, nf): f / (1 + (f/fc)^2), t*, 0.5 Hz high-pass."""
    f = freqs[None, :]
    fc = fc.astype(np.float32)[:, None]
    brune = f / (1 + (f / fc) ** 2)
    highpass = f**2 / (f**2 + np.float32(0.25))
    return brune * highpass * np.exp(np.float32(-np.pi) * f * tstar.astype(np.float32)[:, None])


def _noise_spectrum(freqs: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    """Coloured background (m, nf): power law f^-beta/2 plus a log-Gaussian microseism peak."""
    f = np.maximum(freqs[None, :], freqs[1] if len(freqs) > 1 else 1.0)
    beta, peak_hz, gain = (p[k].astype(np.float32)[:, None] for k in NOISE_KEYS)
    power_law = f ** (-beta / 2)
    peak = np.exp(np.float32(-0.5) * (np.log(f / peak_hz) / np.float32(0.35)) ** 2)
    amp = power_law + gain * peak + np.float32(0.05)
    amp[:, 0] = 0.0
    return amp


def _envelope(dt: np.ndarray, rise: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """(m, 1, samples) onset envelope: 0 before the arrival, then (1 - e^-t/rise) e^-t/decay."""
    tpos = np.maximum(dt, 0)
    env = -np.expm1(-tpos / rise)
    env *= np.exp(-tpos / decay)
    env[dt < 0] = 0.0
    return env


def _polarisations(p: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit (m, 3, 1) E, N, Z motion directions of P, SH and SV for back-azimuth and incidence."""
    baz = p["baz"]
    radial_e, radial_n = -np.sin(baz), -np.cos(baz)  # propagation direction: baz + 180 deg
    sin_p, cos_p = np.sin(p["inc_p"]), np.cos(p["inc_p"])
    pol_p = np.stack([sin_p * radial_e, sin_p * radial_n, cos_p], -1) * p["polarity"][:, None]
    pol_sh = np.stack([radial_n, -radial_e, np.zeros_like(baz)], -1)
    sin_s, cos_s = np.sin(p["inc_s"]), np.cos(p["inc_s"])
    pol_sv = np.stack([cos_s * radial_e, cos_s * radial_n, -sin_s], -1)
    return tuple(a.astype(np.float32)[:, :, None] for a in (pol_p, pol_sh, pol_sv))


def _rms_after(wave: np.ndarray, env: np.ndarray, start: np.ndarray, length: int) -> np.ndarray:
    """(m,) rms over all components of (wave * env)[i, :, start_i : start_i + length]."""
    samples = wave.shape[-1]
    idx = np.clip(start[:, None] + np.arange(length)[None, :], 0, samples - 1)[:, None, :]
    seg = np.take_along_axis(wave, idx, axis=2) * np.take_along_axis(env, idx, axis=2)
    return np.sqrt(np.mean(seg.astype(np.float64) ** 2, axis=(1, 2)))
