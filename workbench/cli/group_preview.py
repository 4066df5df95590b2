"""``workbench group --dry-run``: print what grouping would link and open, writing nothing."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from workbench.cli.main import CliError, open_store

if TYPE_CHECKING:
    from workbench.grouping import GroupingRules
    from workbench.grouping_preview import Preview


def run_preview(args: argparse.Namespace, rules: GroupingRules) -> int:
    """Preview on a read-only store; JSON with ``--json``, else one line per decision."""
    import orjson

    from workbench.cli.when import parse_when
    from workbench.grouping_preview import preview
    from workbench.sanitize import json_safe

    try:
        since = parse_when(args.since) if args.since else None
    except argparse.ArgumentTypeError as exc:
        raise CliError(f"--since: {exc}") from exc
    store = open_store(args, read_only=True)
    try:
        found = preview(store, rules, since=since)
    finally:
        store.close()
    if args.json:
        sys.stdout.buffer.write(json_safe(orjson.dumps(found.as_json(),
                                                       option=orjson.OPT_INDENT_2)) + b"\n")
    else:
        sys.stdout.write(render(found))
    return 0


def render(found: Preview) -> str:
    """The preview as text: opens, then links per investigation, then a summary."""
    from workbench.sanitize import sanitize_line

    lines = []
    for opened in found.sink.opened:
        lines.append(f"would open investigation {opened.placeholder} for event "
                     f"{opened.event.id} ({sanitize_line(opened.event.service or '-')}): "
                     f"{sanitize_line(opened.event.title, limit=100)}")
    for link in found.sink.links:
        event = found.events.get(link.event_id)
        title = sanitize_line(event.title, limit=80) if event else "?"
        target = (f"new investigation {link.investigation_id}" if link.investigation_id < 0
                  else f"investigation {link.investigation_id}")
        lines.append(f"would link event {link.event_id} to {target} by {link.rule} "
                     f"({sanitize_line(link.key or '')}): {title}")
    for event, window in found.sink.suppressed:
        lines.append(f"would hold back event {event.id} (maintenance window "
                     f"{sanitize_line(window)}): {sanitize_line(event.title, limit=80)}")
    more = " (more are pending; a pass takes them in batches)" if found.more else ""
    lines.append(f"dry run: examined {found.examined} events{more}: would open "
                 f"{len(found.sink.opened)} investigations, make {len(found.sink.links)} links "
                 f"({len(found.sink.existing)} more exist already) and hold back "
                 f"{len(found.sink.suppressed)} alerts; nothing was changed")
    return "\n".join(lines) + "\n"
