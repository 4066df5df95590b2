"""The ``[suspects]`` table: weights of the suspect score, the dependency and host maps.

A suspect's score is a sum of named parts (:mod:`workbench.correlation`). Why the
defaults are what they are, part by part (measured on ``benchmarks/bench_suspects.py``,
whose incidents mix every trap below):

- ``time`` 2.0 x closeness (1 at impact, 0 at the look-back's edge): recency alone is
  weak evidence -- busy windows put unrelated deploys minutes before every incident --
  so it only orders changes the evidence cannot tell apart.
- ``deploy`` 1.0 / ``commit`` 0.6 / ``pipeline`` 0.2: a deploy is what changed
  production; the commit it ships comes next; a CI run changes nothing by itself.
- ``evidence`` 3.0 x the share of the incident's errors that point at the change's
  service (relative to the service they point at most): the largest part, because it
  is the only one that says *where* it broke; a change to the service most errors
  point at gets it all, whether those errors are its own or its callers'.
- ``sha`` 1.5 x that same share: the errors ran this version. Scaled by the share
  because every error of a caller carries the caller's version even when the callee
  broke; not counted for a superseded change (a later config change keeps the sha).
  Smaller than ``onset``: when and whether a change went live already separates a
  service's deploys, and at 2.5 the running version of a caller that ran clean for
  hours outranked its dependency's fresh deploy (measured, ``dep_logs``).
- ``onset`` 3.0 x share x e^(-gap / ``onset_minutes``): a change that went live
  shortly before the first error pointing at its service (its own errors or its
  callers'); decay over 30 min, since a bad deploy usually fails within minutes and a
  change that ran clean for hours is a weak suspect.
- ``already_failing`` -1.5 x share: the service's errors began before the change.
- ``superseded`` -1.5: a later deploy of the same service went live before impact
  (the older one ran clean until it was replaced).
- ``dependency_map`` 1.0: a configured callee of a service that reported errors --
  for what telemetry cannot show; a third of ``evidence`` because it says "could",
  not "did".
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SuspectWeights(BaseModel):
    """Points of each part of a suspect's score (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    time: float = Field(default=2.0, ge=0)
    deploy: float = Field(default=1.0, ge=0)
    commit: float = Field(default=0.6, ge=0)
    pipeline: float = Field(default=0.2, ge=0)
    evidence: float = Field(default=3.0, ge=0)
    sha: float = Field(default=1.5, ge=0)
    onset: float = Field(default=3.0, ge=0)
    already_failing: float = Field(default=1.5, ge=0)
    """Subtracted."""
    superseded: float = Field(default=1.5, ge=0)
    """Subtracted."""
    dependency_map: float = Field(default=1.0, ge=0)


class SuspectSettings(BaseModel):
    """The ``[suspects]`` table."""

    model_config = ConfigDict(extra="forbid")

    lookback_minutes: int = Field(default=360, ge=1, le=7 * 24 * 60)
    """How far before impact a change can be a suspect."""
    onset_minutes: float = Field(default=30.0, gt=0)
    """Decay of the onset part: a change this long before its service's first error
    scores e^-1 of the part."""
    max_errors: int = Field(default=50_000, ge=100, le=5_000_000)
    """Linked errors examined per investigation (the first linked, by id)."""
    weights: SuspectWeights = Field(default_factory=SuspectWeights)
    dependencies: dict[str, list[str]] = Field(default_factory=dict)
    """Service -> services it calls, for calls telemetry does not show."""
    hosts: dict[str, str] = Field(default_factory=dict)
    """Host (or ``fnmatch`` pattern such as ``*.payments.internal``) -> service, for peer
    addresses and URLs whose host is not a service name."""
