"""Log patterns: Drain template mining, per-pattern counts, and what changed since a suspect."""
