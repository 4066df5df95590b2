"""What ``workbench demo`` prints when no TUI is installed: the investigation's report."""

from __future__ import annotations

import argparse
import sys

from workbench.cli.main import open_store
from workbench.report import markdown_report


def print_summary(args: argparse.Namespace, investigation_id: int) -> int:
    """Print the demo investigation as Markdown; returns the exit status."""
    store = open_store(args)
    try:
        sys.stdout.write(markdown_report(store, investigation_id))
    finally:
        store.close()
    return 0
