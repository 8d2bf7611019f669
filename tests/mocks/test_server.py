"""Running a mock: the app factory, in-process start, and the command line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from mocks.server import build_app, main, start
from mocks.settings import MockSettings
from tests.mocks.conftest import SMALL


def test_an_unknown_system_is_refused(settings: MockSettings, dataset_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown system"):
        build_app("weather", settings, dataset_path)


@pytest.mark.parametrize("system", ["population", "business", "insurance", "civil-status"])
async def test_each_system_starts_on_a_free_local_port(
    settings: MockSettings, dataset_path: Path, system: str
) -> None:
    runner, port = await start(system, settings, dataset=dataset_path)
    try:
        assert port > 0
        assert runner.addresses[0][0] == "127.0.0.1"
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/_admin/health") as response,
        ):
            assert await response.json() == {"system": system, "status": "ok"}
    finally:
        await runner.cleanup()


def test_the_command_line_refuses_to_start_without_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("LGSP_MOCK_"):
            monkeypatch.delenv(name)
    assert main(["population"]) == 2
    assert "population_secret" in capsys.readouterr().err


async def test_the_command_line_serves_until_sigterm_and_exits_zero(
    settings: MockSettings, dataset_path: Path
) -> None:
    env = {
        **os.environ,
        "LGSP_MOCK_DATA_DIR": str(settings.data_dir),
        "LGSP_MOCK_POPULATION_API_KEY": settings.population_api_key.get_secret_value(),
        "LGSP_MOCK_POPULATION_SECRET": settings.population_secret.get_secret_value(),
        "LGSP_MOCK_BUSINESS_CLIENT_ID": settings.business_client_id,
        "LGSP_MOCK_BUSINESS_CLIENT_SECRET": settings.business_client_secret.get_secret_value(),
        "LGSP_MOCK_INSURANCE_API_KEY": settings.insurance_api_key.get_secret_value(),
        **{f"LGSP_MOCK_{k.upper()}": str(v) for k, v in SMALL.items()},
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mocks.server", "business", "--port", "0",
        env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    try:
        async with asyncio.timeout(30):
            while True:
                line = await process.stderr.readline()
                assert line, "the mock exited before it was ready"
                event = json.loads(line)
                if event.get("event") == "mocks.started":
                    break
        assert event["host"] == "127.0.0.1"
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{event['port']}/_admin/health") as response,
        ):
            assert response.status == 200
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
