"""The peers: the straightforward alternatives an integrator would write, for comparison.

Two of them, each an aiohttp front and a worker that serves it by calling the
same central mock:

* *peer* (`front.py`, `worker.py`): aio-pika's own `aio_pika.patterns.JsonRPC`;
* *faststream* (`faststream_front.py`, `faststream_worker.py`): FastStream's
  RabbitMQ request/reply, `broker.request(...)` answered by a subscriber.

Each is written as its library's documentation shows, with the usual care
(uvloop, one `ClientSession`, no access log), and reuses our wire mapping
(adapters/population/wire.py) so that the comparison measures the plumbing, not
the XML code. They carry no authentication, audit or purpose checks: the
gateway does all of that on top.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass

ENVIRONMENT = "LGSP_BENCH_PEER"
METHOD = "citizen_verify"
# The FastStream peer's request queue, and the header its worker puts the HTTP status in.
FASTSTREAM_QUEUE = "lgsp-bench.faststream.citizen-verify"
STATUS_HEADER = "x-peer-status"
# The caller's deadline, as the gateway's default.
TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class PeerConfig:
    amqp_url: str
    port: int = 0
    central_url: str = ""
    client: str = ""
    user: str = ""
    api_key: str = ""
    secret: str = ""
    prefetch: int = 64

    @classmethod
    def from_environment(cls) -> PeerConfig:
        """Read from `LGSP_BENCH_PEER` (JSON): secrets never travel on the command line."""
        return cls(**json.loads(os.environ[ENVIRONMENT]))

    def to_environment(self) -> dict[str, str]:
        return {ENVIRONMENT: json.dumps(dataclasses.asdict(self))}
