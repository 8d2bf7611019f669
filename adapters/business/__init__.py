"""The business adapter: the national business registration database (JSON REST, OAuth2).

Operations:
- `enterprise-lookup`: an enterprise's registration details by its tax code
  (= enterprise code; 10 digits, or 13 for a dependent unit). Members' and
  legal representatives' personal IDs are personal data: both lists are field
  groups a client may be denied.
"""

from __future__ import annotations

import secrets

from adapters.business import wire
from adapters.business.client import BusinessClient
from adapters.interface import Adapter, Context
from schemas.business import EnterpriseLookupRequest, EnterpriseLookupResponse
from schemas.config import RetrySettings


def _demo_credentials() -> dict[str, str]:
    """OAuth2 client credentials at the registry's API manager."""
    return {
        "client_id": "lgsp-hp-" + secrets.token_hex(4),
        "client_secret": secrets.token_urlsafe(24),
    }


adapter: Adapter[BusinessClient] = Adapter(
    "business",
    title="National business registration database",
    connect=BusinessClient,
    base_url="http://127.0.0.1:8702",
    demo_credentials=_demo_credentials,
    # A read-only registry behind an API manager that throttles (429) and restarts: a few
    # retries with a longer backoff than population's, each attempt time-boxed.
    retry=RetrySettings(attempts=5, initial_backoff=0.1, max_backoff=1.5, attempt_timeout=4.0),
)


@adapter.operation(
    "enterprise-lookup",
    personal_data=True,
    subject="tax_code",
    example={"tax_code": "0100000003"},  # synthetic, with a valid check digit
    field_groups={
        "representatives": ("enterprise.representatives",),
        "members": ("enterprise.members",),
    },
)
async def enterprise_lookup(
    req: EnterpriseLookupRequest, ctx: Context[BusinessClient]
) -> EnterpriseLookupResponse:
    """Look up an enterprise in the national business registry by its tax code."""
    answer = await ctx.client.enterprise(req.tax_code, ctx.purpose)
    return EnterpriseLookupResponse(enterprise=wire.enterprise(answer))
