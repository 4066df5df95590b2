"""An investigation exported to a file, in any export format, and the audit of a bundle.

The TUI's export key writes through :func:`save`; the API streams the same bytes
(:func:`export_parts`, the one dispatch on the format) in a response, and the CLI
(:func:`~workbench.export.timeline.export_chunks`, :func:`build_bundle`,
:func:`postmortem`) to stdout; each audits a bundle with :func:`record_bundle_export`
-- one meaning of "exported".

The file is written beside its final path and moved into place when complete, so an
interrupted export never leaves half a bundle under the name a reader expects.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from storage import audit
from storage.store import Store
from workbench.export.bundle import Bundle, build_bundle
from workbench.export.postmortem import postmortem
from workbench.export.timeline import export_chunks
from workbench.suspect_settings import SuspectSettings

log = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv", "bundle", "postmortem")
SUFFIX = {"jsonl": "jsonl", "csv": "csv", "bundle": "json", "postmortem": "md"}


@dataclass(frozen=True, slots=True)
class Saved:
    """What :func:`save` wrote: where, how many bytes, and whether it was audited."""

    path: Path
    size: int
    fmt: str
    audited: bool = False


def default_name(investigation_id: int, fmt: str) -> str:
    """``investigation-12.jsonl``: the file name the API's download suggests too."""
    return f"investigation-{investigation_id}.{SUFFIX[fmt]}"


def record_bundle_export(session: Session, *, actor: str, via: str, investigation_id: int,
                         built: Bundle) -> None:
    """Audit a bundle export (what it held and its digest), in the caller's transaction."""
    audit.record(session=session, actor=actor, action="investigation.export",
                 target=f"investigation:{investigation_id}",
                 detail={"via": via, "bundle_sha256": built.sha256, **built.counts})


def export_parts(store: Store, investigation_id: int, fmt: str,
                 settings: SuspectSettings | None = None
                 ) -> tuple[Iterable[bytes], Bundle | None]:
    """The bytes of ``fmt`` (``jsonl`` and ``csv`` lazily, as the events are read), and
    the bundle when ``fmt`` is one (its export is audited with
    :func:`record_bundle_export`). The one dispatch on the format: :func:`save` and the
    API's download both use it. :class:`~storage.NotFoundError` for no investigation."""
    if fmt == "bundle":
        built = build_bundle(store, investigation_id, settings=settings)
        return [built.document], built
    if fmt == "postmortem":
        return [postmortem(store, investigation_id, settings=settings).encode()], None
    if fmt in ("jsonl", "csv"):
        return export_chunks(store, investigation_id, fmt), None
    raise ValueError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")


def _write(path: Path, chunks: Iterator[bytes] | Iterable[bytes]) -> int:
    """All of ``chunks`` to ``path`` via a temporary file in the same directory."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part",
                                     dir=path.parent)
    size = 0
    try:
        with os.fdopen(fd, "wb") as sink:
            for chunk in chunks:
                sink.write(chunk)
                size += len(chunk)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return size


def save(store: Store, investigation_id: int, fmt: str, path: Path, *, actor: str, via: str,
         settings: SuspectSettings | None = None, audited: bool = True) -> Saved:
    """Write the investigation in ``fmt`` to ``path`` (replacing it). A bundle export is
    audited (unless ``audited`` is false: a read-only session); on a store that refuses
    the write the file is still written and the result says it was not audited.

    :class:`~storage.NotFoundError` if there is no such investigation, ``OSError`` if the
    file cannot be written (nothing is left behind then)."""
    path = path.expanduser()
    chunks, built = export_parts(store, investigation_id, fmt, settings)
    size = _write(path, chunks)
    if built is None or not audited:
        return Saved(path, size, fmt)
    try:
        with store.write() as session:
            record_bundle_export(session, actor=actor, via=via,
                                 investigation_id=investigation_id, built=built)
    except DBAPIError as exc:  # a read-only store: the file is written all the same
        log.warning("export of investigation %s not audited: %s", investigation_id, exc)
        return Saved(path, size, fmt)
    return Saved(path, size, fmt, audited=True)
