"""The operator surfaces: the `prolight` CLI and the Streamlit dashboard."""
