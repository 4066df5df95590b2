"""Settings models of the config file's tables that belong to the API and the TUI.

They live here, not beside the API and the TUI, so that loading the config (core)
imports neither FastAPI nor Textual, and neither front end imports the other.
"""
