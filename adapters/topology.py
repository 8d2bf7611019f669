"""Declaring the bus objects of DESIGN.md, idempotently, from either side.

The gateway and every worker declare the same objects with the same arguments
at start; RabbitMQ accepts an identical re-declaration and refuses a different
one with PRECONDITION_FAILED, which we turn into a clear `TopologyError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue
from aiormq.exceptions import ChannelPreconditionFailed

from adapters.errors import TopologyError
from schemas.config import BusSettings
from schemas.envelope import (
    AUDIT_EXCHANGE,
    AUDIT_QUEUE,
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    REQUESTS_EXCHANGE,
    request_queue,
)


def request_queue_arguments(settings: BusSettings) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        # A message that kills its worker again and again is dead-lettered, not looped.
        "x-delivery-limit": settings.delivery_limit,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        # Dead letters are themselves confirmed: nothing disappears on the way.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
        "x-max-length": settings.max_queue_length,
        **replicas(settings),
    }


def replicas(settings: BusSettings) -> dict[str, Any]:
    """The replica count, only when configured: a queue created without the argument refuses
    a re-declaration with it, so single-node deployments keep declaring what they created."""
    if settings.quorum_replicas is None:
        return {}
    return {"x-quorum-initial-group-size": settings.quorum_replicas}


def quorum(settings: BusSettings) -> dict[str, Any]:
    """The arguments of the dead-letter and audit queues."""
    return {"x-queue-type": "quorum", **replicas(settings)}


async def declare_topology(
    channel: AbstractChannel, adapters: Iterable[str], settings: BusSettings
) -> dict[str, AbstractQueue]:
    """Declare exchanges and queues; return the request queues by adapter name."""
    requests = await _exchange(channel, REQUESTS_EXCHANGE, aio_pika.ExchangeType.DIRECT)
    dead = await _exchange(channel, DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.FANOUT)
    dead_queue = await _queue(channel, DEAD_LETTER_QUEUE, quorum(settings))
    await dead_queue.bind(dead)
    audit = await _exchange(channel, AUDIT_EXCHANGE, aio_pika.ExchangeType.FANOUT)
    audit_queue = await _queue(channel, AUDIT_QUEUE, quorum(settings))
    await audit_queue.bind(audit)
    queues: dict[str, AbstractQueue] = {}
    for adapter in adapters:
        queue = await _queue(channel, request_queue(adapter), request_queue_arguments(settings))
        await queue.bind(requests, routing_key=adapter)
        queues[adapter] = queue
    return queues


async def _exchange(
    channel: AbstractChannel, name: str, kind: aio_pika.ExchangeType
) -> AbstractExchange:
    try:
        return await channel.declare_exchange(name, kind, durable=True)
    except ChannelPreconditionFailed as exc:
        raise TopologyError(
            f"exchange {name!r} exists with another type or flags than {kind.value!r} durable: "
            f"{exc}. Delete it (rabbitmqctl delete_exchange) or fix the settings."
        ) from exc


async def _queue(channel: AbstractChannel, name: str, arguments: dict[str, Any]) -> AbstractQueue:
    try:
        return await channel.declare_queue(name, durable=True, arguments=arguments)
    except ChannelPreconditionFailed as exc:
        raise TopologyError(
            f"queue {name!r} exists with arguments other than {arguments}: {exc}. "
            "Drain and delete it (rabbitmqctl delete_queue) or restore the settings it was "
            "created with."
        ) from exc
