"""Signal connectors: the contract, resilience, the supervisor and one module per source.

Imports ``storage``; never Textual, FastAPI or ``workbench``.
"""
