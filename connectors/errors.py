"""The connector error hierarchy. Policy code branches on these classes, never on messages.

::

    ConnectorError
    ├── TransientSourceError      the source is unreachable or unhappy right now:
    │   │                         retried with backoff, counted by the circuit breaker
    │   ├── SourceTimeoutError    the call did not finish in time
    │   └── RateLimitedError      429/503 with an optional Retry-After (seconds)
    ├── PermanentSourceError      the source refuses us (auth, 4xx, not a repository, bad
    │                             config): not retried; counted by the breaker; the
    │                             connector is marked failing until its config changes
    └── PoisonRecordError         one record cannot be parsed or validated: never retried,
                                  goes to the DLQ with its raw payload; the rest of the
                                  batch is unaffected and the breaker does not count it
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error a connector raises on purpose."""


class TransientSourceError(ConnectorError):
    """A failure that may go away by itself: retry with backoff."""


class SourceTimeoutError(TransientSourceError):
    """The source did not answer in time."""


class RateLimitedError(TransientSourceError):
    """The source asked us to slow down."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSourceError(ConnectorError):
    """A failure that retrying will not fix (auth, configuration, a 4xx)."""


class PoisonRecordError(ConnectorError):
    """One record that cannot become an event; it goes to the DLQ with its payload."""

    def __init__(self, message: str, *, payload: bytes, source_ref: str | None = None,
                 error_class: str | None = None) -> None:
        super().__init__(message)
        self.payload = payload
        self.source_ref = source_ref
        self.error_class = error_class or type(self).__name__
