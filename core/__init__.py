"""TensorFlow lab core: data sources, pipelines, models, runs and prediction (no Streamlit)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter quiet
