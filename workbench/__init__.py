"""The parts a person touches: CLI, TUI, REST API, correlation, reports.

Kept import-free so that ``workbench --help`` and the CLI start fast.
"""

__version__ = "0.1.0"
