"""Webhook authenticity checks, in constant time.

GitHub signs the raw body: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256>``.
GitLab sends a plain shared secret in ``X-Gitlab-Token`` (not a signature).
Both are compared with :func:`hmac.compare_digest`, so the time taken does not
reveal how many leading characters of a guess were right.
"""

from __future__ import annotations

import hashlib
import hmac


def github_signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub would send for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_github(secret: str | None, body: bytes, header: str | None) -> bool:
    """True only if a secret is configured and ``header`` is the body's signature."""
    if not secret or not header:
        return False
    return hmac.compare_digest(github_signature(secret, body).encode(),
                               header.strip().encode("utf-8", "replace"))


def verify_token(expected: str | None, given: str | None) -> bool:
    """True only if a token is configured and ``given`` equals it (GitLab, bearer)."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
