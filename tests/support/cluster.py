"""Test access to the three-node cluster: a virtual host on it, its nodes, who leads a queue."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from gateway.broker import LocalBroker
from gateway.cluster import LocalCluster
from tests.support.rabbit import Rabbit


@dataclass
class ClusterRabbit:
    cluster: LocalCluster
    vhost: str

    def on(self, node: LocalBroker) -> Rabbit:
        """This virtual host as seen through one node."""
        return Rabbit(node, self.vhost)

    @property
    def url(self) -> str:
        """The first node's URL (what `bus.url` holds; `bus.urls` lists them all)."""
        return self.urls()[0]

    def urls(self, order: list[LocalBroker] | None = None) -> list[str]:
        return [self.on(node).url for node in order or self.cluster.nodes]

    def bus(self, order: list[LocalBroker] | None = None, **more: Any) -> dict[str, Any]:
        """`bus` settings for the cluster: every node, tried in the order given."""
        return {
            "urls": self.urls(order),
            "node_order": "listed",
            "quorum_replicas": 3,
            "heartbeat": 5,
            "connect_timeout": 2.0,
            **more,
        }

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """The management API of the first node that answers (any node speaks for all)."""
        failure: OSError | None = None
        for node in self.cluster.nodes:
            if not node.running:
                continue
            try:
                return self.on(node).api(method, path, body, retry_for=5.0)
            except OSError as exc:
                failure = exc
        raise failure or OSError("no node running")

    def create_vhost(self) -> None:
        self.on(self.cluster.nodes[0]).create_vhost()

    def delete_vhost(self) -> None:
        self.api("DELETE", f"/api/vhosts/{quote(self.vhost)}")

    def queue(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.api("GET", f"/api/queues/{quote(self.vhost)}/{quote(name)}")
        return found

    def node(self, name: str) -> LocalBroker:
        return next(n for n in self.cluster.nodes if n.node == name)

    def leader(self, queue: str) -> LocalBroker:
        return self.node(self.queue(queue)["leader"])

    def others(self, node: LocalBroker) -> list[LocalBroker]:
        return [n for n in self.cluster.nodes if n is not node]

    async def wait_for_leader(self, queue: str, within: float = 30.0) -> LocalBroker:
        """Until the queue has a leader on a running node, with every member known."""
        deadline = time.monotonic() + within
        while True:
            try:
                found = await asyncio.to_thread(self.queue, queue)
                leader = self.node(found["leader"])
                if leader.running and found.get("online"):
                    return leader
            except (OSError, KeyError, StopIteration):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no leader for {queue} within {within:g}s")
            await asyncio.sleep(0.25)

    def peek(self, queue: str, count: int = 5000) -> list[dict[str, Any]]:
        """The queue's messages, read and put back (the management API's get, requeued)."""
        got: list[dict[str, Any]] = self.api(
            "POST",
            f"/api/queues/{quote(self.vhost)}/{quote(queue)}/get",
            {"count": count, "ackmode": "ack_requeue_true", "encoding": "auto"},
        )
        return got


def quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")
