"""Seismic waveforms: windows, labels, data sources, augmentation, the picker and its scoring."""
