"""Streamlit dashboard: the entry script, shared widgets and plotly figure builders."""
