"""Two gateway machines, each with its own copy of the configuration and of the key ring.

What docs/operating.md ("Several gateway machines") prescribes, done here with
two `lgsp gateway` processes on two directories that stand for two machines:
the clients (their secrets' hashes and rights) live in the config file and the
signing keys in `auth.keys_dir`, both copied from one machine to the other.
A token issued by either is accepted by both; a key rotated with
`--activate-in` and copied before it activates never makes either refuse a
valid token; a client revoked in both copies is refused by both once they
have reloaded (within `auth.reload_interval`).
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import time
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest

from gateway.config_file import to_toml
from gateway.security.clients import add_client, revoke_client
from gateway.security.keys import KeyRing
from mocks.settings import MockSettings
from tests.support.gateways import wait_ready
from tests.support.processes import lgsp_process
from tests.support.rabbit import Rabbit
from tests.support.stack import config_values, running_stack
from tests.support.waiting import free_port

pytestmark = pytest.mark.integration
RELOAD = 0.3
CLIENT = "one-stop-shop"


async def token_from(session: aiohttp.ClientSession, base: str, secret: str) -> tuple[int, str]:
    basic = base64.b64encode(f"{CLIENT}:{secret}".encode()).decode()
    async with session.post(
        base + "/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    ) as resp:
        body = await resp.json()
        return resp.status, str(body.get("access_token", ""))


async def services_status(session: aiohttp.ClientSession, base: str, token: str) -> int:
    async with session.get(
        base + "/v1/services", headers={"Authorization": f"Bearer {token}"}
    ) as r:
        await r.read()
        return r.status


def machine(root: Path, name: str, values: dict[str, Any]) -> Path:
    """A machine's directory: its config file, naming its own key ring."""
    home = root / name
    home.mkdir(exist_ok=True)
    auth = {**values["auth"], "keys_dir": str(home / "keys"), "reload_interval": RELOAD}
    (home / "lgsp.toml").write_text(to_toml({**values, "auth": auth}))
    return home / "lgsp.toml"


async def test_two_gateway_machines_share_clients_rights_and_keys_through_copied_files(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    tmp_path: Path,
) -> None:
    async with running_stack(rabbit, mock_settings, generated) as stack:
        ports = [free_port(), free_port()]
        values = config_values(rabbit.url, stack.mock_urls, generated)
        values["auth"] = {**values["auth"], "clients": {}}
        config_a = machine(tmp_path, "a", {**values, "gateway": {"port": ports[0]}})
        KeyRing(config_a.parent / "keys").ensure()
        secret = add_client(config_a, CLIENT, ["population/*"], rate=1000, burst=1000)
        # Machine b gets a copy of a's files, as configuration management would give it.
        shutil.copytree(config_a.parent / "keys", tmp_path / "b" / "keys")
        config_b = machine(tmp_path, "b", {**values, "gateway": {"port": ports[1]}})
        config_b.write_text(
            config_a.read_text()
            .replace(str(config_a.parent), str(config_b.parent))
            .replace(f"port = {ports[0]}", f"port = {ports[1]}")
        )
        with (
            lgsp_process(config_a, "gateway", log=tmp_path / "a.log") as gw_a,
            lgsp_process(config_b, "gateway", log=tmp_path / "b.log") as gw_b,
        ):
            a, b = (f"http://127.0.0.1:{p}" for p in ports)
            await asyncio.gather(wait_ready(a, gw_a), wait_ready(b, gw_b))
            async with aiohttp.ClientSession() as session:
                # A token from either machine is good on both.
                for issuer in (a, b):
                    status, token = await token_from(session, issuer, secret)
                    assert status == 200
                    assert [await services_status(session, g, token) for g in (a, b)] == [200] * 2

                # Rotation: a new key made on a, copied to b, signing only once both have it.
                old_kid = jwt.get_unverified_header(token)["kid"]
                new_kid = KeyRing(config_a.parent / "keys").rotate(300, activate_in=2.0)
                shutil.copy2(config_a.parent / "keys" / f"{new_kid}.pem", config_b.parent / "keys")
                kids: set[str] = set()
                refused = 0
                until = time.monotonic() + 2.0 + 3 * RELOAD + 1.0
                while time.monotonic() < until:  # tokens from both, checked at both, throughout
                    for issuer in (a, b):
                        status, token = await token_from(session, issuer, secret)
                        kids.add(jwt.get_unverified_header(token)["kid"])
                        for g in (a, b):
                            refused += await services_status(session, g, token) != 200
                    await asyncio.sleep(0.05)
                assert refused == 0
                assert kids == {old_kid, new_kid}  # the old key signed first, then the new one

                # Revocation, in both copies: both refuse the token and the credentials.
                revoke_client(config_a, CLIENT)
                revoke_client(config_b, CLIENT)
                async with asyncio.timeout(5 * RELOAD + 5):
                    while {await services_status(session, g, token) for g in (a, b)} != {401}:
                        await asyncio.sleep(0.1)
                assert [(await token_from(session, g, secret))[0] for g in (a, b)] == [401] * 2
