"""What every Datadog connector shares: the site, the API base and the two keys."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field, model_validator

from connectors.secrets import SecretRef


class DatadogSite(BaseModel):
    """``site`` (``datadoghq.com``, ``datadoghq.eu``, ``us5.datadoghq.com`` ...), ``url``
    (overrides ``https://api.<site>``: a proxy, a test server) and the API and
    application keys as secret references."""

    site: str = Field(default="datadoghq.com", pattern=r"^[a-z0-9.-]+$")
    """The Datadog site; the API is ``https://api.<site>``."""
    url: str = ""
    """API base URL; empty means ``https://api.<site>``."""
    api_key: SecretRef
    app_key: SecretRef

    @model_validator(mode="after")
    def _site_url(self) -> DatadogSite:
        if not self.url:
            self.url = f"https://api.{self.site}"
        return self


async def datadog_headers(config: DatadogSite) -> dict[str, str]:
    """The key headers, resolved on every call (off the loop): a rotated key file or
    Vault secret needs no restart."""
    api_key, app_key = await asyncio.gather(asyncio.to_thread(config.api_key.resolve),
                                            asyncio.to_thread(config.app_key.resolve))
    return {"DD-API-KEY": api_key, "DD-APPLICATION-KEY": app_key, "Accept": "application/json"}
