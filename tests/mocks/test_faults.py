"""Fault injection: each kind of failure, observable from a real client."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from mocks.settings import MockSettings
from tests.mocks.conftest import make_settings
from tests.mocks.support import MockServer, running

# A cheap call that reaches the insurance handler and answers 200.
SEARCH = "/apiBHXH/getMaSoBhxhByTieuChi"
QUERY = {"hoTen": "Nguyễn Văn An", "ngaySinh": "1990"}


async def _post(server: MockServer, limit_s: float = 10.0) -> aiohttp.ClientResponse:
    headers = {"X-API-KEY": server.settings.insurance_api_key.get_secret_value()}
    async with server.http.post(
        server.url + SEARCH,
        json=QUERY,
        headers=headers,
        allow_redirects=False,
        timeout=aiohttp.ClientTimeout(total=limit_s),
    ) as response:
        await response.read()
        return response


async def _body(server: MockServer) -> tuple[int, bytes]:
    headers = {"X-API-KEY": server.settings.insurance_api_key.get_secret_value()}
    async with server.http.post(server.url + SEARCH, json=QUERY, headers=headers) as response:
        return response.status, await response.read()


async def _calls(server: MockServer) -> int:
    return await server.calls("getMaSoBhxhByTieuChi")


async def test_without_faults_calls_succeed_and_are_counted(insurance: MockServer) -> None:
    assert (await _post(insurance)).status == 200
    assert await _calls(insurance) == 1


async def test_latency_delays_the_answer(insurance: MockServer) -> None:
    await insurance.set_faults({"latency_ms": 200, "latency_jitter_ms": 50})
    started = time.monotonic()
    assert (await _post(insurance)).status == 200
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 2.0


async def test_an_error_rate_of_one_answers_the_status_without_calling_the_handler(
    insurance: MockServer,
) -> None:
    await insurance.set_faults({"error_rate": 1.0, "error_status": 502})
    assert (await _post(insurance)).status == 502
    assert await _calls(insurance) == 0


async def test_an_error_rate_applies_to_about_that_share_of_calls(
    insurance: MockServer,
) -> None:
    await insurance.set_faults({"error_rate": 0.5, "error_status": 503, "seed": 11})
    statuses = [(await _post(insurance)).status for _ in range(100)]
    assert set(statuses) == {200, 503}
    assert 25 <= statuses.count(503) <= 75
    assert await _calls(insurance) == statuses.count(200)


async def test_a_reset_drops_the_connection_without_an_answer(insurance: MockServer) -> None:
    await insurance.set_faults({"reset_rate": 1.0})
    with pytest.raises((aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)):
        await _post(insurance)
    assert await _calls(insurance) == 0


async def test_a_hang_holds_the_request_until_the_client_gives_up(
    insurance: MockServer,
) -> None:
    await insurance.set_faults({"hang_rate": 1.0})
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await _post(insurance, limit_s=0.3)
    assert time.monotonic() - started >= 0.3
    assert await _calls(insurance) == 0


async def test_a_hang_is_bounded_and_then_dropped(insurance: MockServer) -> None:
    await insurance.set_faults({"hang_rate": 1.0, "hang_max_s": 0.2})
    with pytest.raises((aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)):
        await _post(insurance, limit_s=5)


async def test_clearing_faults_releases_hung_requests(insurance: MockServer) -> None:
    await insurance.set_faults({"hang_rate": 1.0})
    hung = asyncio.create_task(_post(insurance, limit_s=30))
    await _until_hanging(insurance, 1)
    async with insurance.http.delete(f"{insurance.url}/_admin/faults") as response:
        assert response.status == 200
    with pytest.raises((aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)):
        await asyncio.wait_for(hung, 5)


async def _until_hanging(server: MockServer, count: int) -> None:
    """Poll the mock's own account of hung requests (no event crosses the wire)."""
    async with asyncio.timeout(5):
        while True:
            async with server.http.get(f"{server.url}/_admin/faults/injected") as response:
                if (await response.json())["hanging"] == count:
                    return
            await asyncio.sleep(0.01)


async def test_a_hang_is_released_when_the_client_gives_up(insurance: MockServer) -> None:
    await insurance.set_faults({"hang_rate": 1.0})
    with pytest.raises(TimeoutError):
        await _post(insurance, limit_s=0.2)
    # The server noticed the disconnect and freed the handler.
    await _until_hanging(insurance, 0)
    async with insurance.http.get(f"{insurance.url}/_admin/faults/injected") as response:
        assert (await response.json())["injected"] == {"hang": 1}


async def test_an_outage_answers_503_with_retry_after_for_its_window(
    insurance: MockServer,
) -> None:
    await insurance.set_faults({"outage_seconds": 30})
    response = await _post(insurance)
    assert response.status == 503
    assert 1 <= int(response.headers["Retry-After"]) <= 30
    assert await _calls(insurance) == 0
    await insurance.set_faults({"outage_seconds": 0})
    assert (await _post(insurance)).status == 200


async def test_a_malformed_answer_is_a_200_whose_body_does_not_parse(
    insurance: MockServer,
) -> None:
    _, good = await _body(insurance)
    await insurance.set_faults({"malformed_rate": 1.0})
    status, bad = await _body(insurance)
    assert status == 200
    assert good.startswith(bad)
    assert len(bad) < len(good)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(bad)


async def test_an_oversized_answer_still_parses(insurance: MockServer) -> None:
    await insurance.set_faults({"oversized_rate": 1.0, "oversized_bytes": 2_000_000})
    status, body = await _body(insurance)
    assert status == 200
    assert len(body) >= 2_000_000
    assert orjson.loads(body)["maLoi"] == "00"


async def test_an_oversized_soap_answer_still_parses(population: MockServer) -> None:
    from tests.mocks.support import LOOKUP, lookup_body

    await population.set_faults({"oversized_rate": 1.0, "oversized_bytes": 100_000})
    body = lookup_body("031099999999", "Nguyễn Văn An", "19990101")
    async with population.http.post(
        population.url + LOOKUP, data=body, headers=population.signed(LOOKUP)
    ) as response:
        raw = await response.read()
    assert len(raw) >= 100_000
    assert b"KHONG_TON_TAI" in raw
    assert raw.rstrip().endswith(b"</soap:Envelope>")


async def test_a_redirect_points_elsewhere_without_calling_the_handler(
    insurance: MockServer,
) -> None:
    await insurance.set_faults({"redirect_rate": 1.0, "redirect_location": "http://x.invalid/"})
    response = await _post(insurance)
    assert response.status == 302
    assert response.headers["Location"] == "http://x.invalid/"
    assert await _calls(insurance) == 0


async def test_paths_limit_faults_to_some_operations(insurance: MockServer) -> None:
    await insurance.set_faults({"error_rate": 1.0, "paths": ["/apiBHXH/kiemTraTheBhyt"]})
    assert (await _post(insurance)).status == 200
    async with insurance.http.post(f"{insurance.url}/apiBHXH/kiemTraTheBhyt", json={}) as response:
        assert response.status == 503


async def test_admin_endpoints_are_never_faulted(insurance: MockServer) -> None:
    await insurance.set_faults({"error_rate": 1.0, "outage_seconds": 60, "reset_rate": 1.0})
    async with insurance.http.get(f"{insurance.url}/_admin/faults") as response:
        assert response.status == 200
        assert (await response.json())["error_rate"] == 1.0
    async with insurance.http.get(f"{insurance.url}/_admin/health") as response:
        assert (await response.json()) == {"system": "insurance", "status": "ok"}
    async with insurance.http.delete(f"{insurance.url}/_admin/faults") as response:
        assert (await response.json())["error_rate"] == 0.0
    assert (await _post(insurance)).status == 200


@pytest.mark.parametrize(
    "config", [{"error_rate": 2}, {"unknown": 1}, {"latency_ms": -1}, "not json"]
)
async def test_an_invalid_configuration_is_refused_and_changes_nothing(
    insurance: MockServer, config: Any
) -> None:
    await insurance.set_faults({"error_rate": 1.0})
    data = config.encode() if isinstance(config, str) else orjson.dumps(config)
    async with insurance.http.put(f"{insurance.url}/_admin/faults", data=data) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "invalid fault configuration"
    async with insurance.http.get(f"{insurance.url}/_admin/faults") as response:
        assert (await response.json())["error_rate"] == 1.0


async def test_faults_from_the_settings_apply_from_start(
    tmp_path: Path, settings: MockSettings, dataset_path: Path, http: aiohttp.ClientSession
) -> None:
    faulty = make_settings(
        tmp_path,
        faults='{"error_rate": 1.0, "error_status": 500}',
        insurance_api_key=settings.insurance_api_key,
    )
    async with running("insurance", faulty, dataset_path, http) as server:
        assert (await _post(server)).status == 500


async def test_stats_count_per_operation_and_reset(insurance: MockServer) -> None:
    await _post(insurance)
    await insurance.insurance("kiemTraTheBhyt", {"maThe": "bad"})
    async with insurance.http.get(f"{insurance.url}/nowhere") as response:
        assert response.status == 404
    operations = (await insurance.stats())["operations"]
    assert operations == {
        "getMaSoBhxhByTieuChi": {"calls": 1, "statuses": {"200": 1}},
        "kiemTraTheBhyt": {"calls": 1, "statuses": {"400": 1}},
    }
    async with insurance.http.post(f"{insurance.url}/_admin/stats/reset") as response:
        assert (await response.json())["operations"] == operations
    assert (await insurance.stats())["operations"] == {}
