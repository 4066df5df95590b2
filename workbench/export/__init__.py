"""Taking an investigation elsewhere: timeline exports (JSONL, Timesketch CSV) and bundles."""
