"""Augmentation: the op protocol and seeded pipeline image and waveform ops share; image ops."""
