"""The peer's worker: serves `citizen_verify` over JsonRPC by calling the population mock.

Run: `LGSP_BENCH_PEER='{"amqp_url": ..., "central_url": ..., ...}' python -m bench.peers.worker`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import signal
import time
from typing import Any

import aio_pika
import aiohttp
import uvloop
from aio_pika.patterns import JsonRPC

from adapters.population import wire
from bench.peers import METHOD, TIMEOUT_S, PeerConfig
from schemas.population import CitizenVerifyResponse

PATH = "/csdldc/v1/TraCuuThongTinCongDan"


class Central:
    """The population service's client: one session, X-Road-style signed headers."""

    def __init__(self, config: PeerConfig, session: aiohttp.ClientSession) -> None:
        self.config = config
        self.session = session

    def headers(self) -> dict[str, str]:
        c = self.config
        timestamp = str(int(time.time() * 1000))
        digest = hashlib.sha256((PATH + c.user + timestamp + c.secret).encode()).hexdigest()
        return {
            "X-Road-Client": c.client,
            "ApiKey": c.api_key,
            "Timestamp": timestamp,
            "Authorization": "Basic " + base64.b64encode(f"{c.user}:{digest}".encode()).decode(),
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": '"TraCuuThongTinCongDan"',
        }

    async def citizen_verify(
        self,
        *,
        personal_id: str,
        full_name: str,
        date_of_birth: str,
        officer_id: str,
        procedure_code: str,
    ) -> dict[str, Any]:
        body = wire.envelope(
            "TraCuuThongTinCongDan",
            {
                "MaYeuCau": "peer",
                "MaDVC": procedure_code,
                "MaCanBo": officer_id,
                "MaDonVi": "000.00.31.H29",
                "SoDinhDanh": personal_id,
                "HoVaTen": full_name,
                "NgayThangNamSinh": date_of_birth.replace("-", ""),
            },
        )
        url = self.config.central_url + PATH
        async with self.session.post(url, data=body, headers=self.headers()) as resp:
            answer = wire.parse_body(await resp.read())
        outcome = wire.text(answer, "KetQuaDoiChieu")
        if outcome == "KHONG_KHOP":
            result = CitizenVerifyResponse(
                matched=False, mismatched_fields=wire.mismatched(answer), citizen=None
            )
        elif outcome == "KHOP":
            record = wire.child(wire.child(answer, "DanhSachCongDan"), "CongDan")
            if record is None:
                raise ValueError("no record in a match")
            result = CitizenVerifyResponse(
                matched=True, mismatched_fields=[], citizen=wire.citizen(record)
            )
        else:
            raise LookupError(outcome or "fault")
        return result.model_dump(mode="json")


async def serve(config: PeerConfig) -> None:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=config.prefetch)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        central = Central(config, session)
        connection = await aio_pika.connect_robust(config.amqp_url)
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=config.prefetch)
        rpc = await JsonRPC.create(channel)
        await rpc.register(METHOD, central.citizen_verify, auto_delete=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await connection.close()


def main() -> int:
    uvloop.run(serve(PeerConfig.from_environment()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
