"""The one settings model, built at start and passed down.

Precedence, highest first: keyword arguments, environment variables `LGSP_*`
(nested with `__`, e.g. `LGSP_BUS__URL`), the TOML file named by `LGSP_CONFIG`
(default `var/lgsp.toml`, written by `lgsp init`), then the defaults below,
which are safe for a one-machine run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from schemas.security import AuditSettings, AuthSettings, TlsSettings

DEFAULT_CONFIG_PATH = Path("var/lgsp.toml")
AUDIT_ADAPTER = "audit"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BusSettings(_Section):
    url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5682/")
    # Bounded waits on every broker operation: a blocked broker must give 503, not a hang.
    publish_timeout: float = 2.0
    connect_timeout: float = 5.0
    # Declaring the topology and starting to consume; a quorum queue still recovering
    # can make basic.consume wait far longer than this, so we retry instead of hanging.
    setup_timeout: float = 15.0
    reconnect_max_delay: float = 2.0
    # Quorum-queue arguments; changing them on a live queue is refused at start.
    delivery_limit: int = 5
    max_queue_length: int = 100_000
    reply_queue_expires_ms: int = 60_000
    # Where replies come back: "queue", a per-process non-exclusive expiring queue (replies
    # survive a dropped connection while the broker lives), or "direct", RabbitMQ's direct
    # reply-to (no queue in between; replies in flight are lost with the channel).
    reply_path: Literal["queue", "direct"] = "queue"
    consumer_check_interval: float = 1.0


class GatewaySettings(_Section):
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 64 * 1024
    default_timeout: float = 10.0
    max_timeout: float = 60.0
    # The shortest `LGSP-Timeout` a client may ask for (400 below it).
    min_timeout: float = Field(default=0.05, gt=0)
    shutdown_grace: float = 10.0
    retry_after_seconds: int = 2
    processes: int = 1
    # Connection hygiene (gateway/connections.py). An idle connection, or one whose next
    # request's headers are not complete, is closed this long after it opened or after its
    # last answer (aiohttp's keep-alive timer; the bound on slow headers too).
    keepalive_timeout: float = Field(default=15.0, gt=0)
    # From the handler's first read to the body's last byte (408 and close beyond it).
    body_timeout: float = Field(default=10.0, gt=0)
    # Open connections per gateway process, in total and per client address; one more is
    # answered 503 and closed at once.
    max_connections: int = Field(default=1024, ge=1)
    max_connections_per_address: int = Field(default=256, ge=1)


class RetrySettings(_Section):
    """A declarative retry policy; the runtime applies it, adapters never loop."""

    attempts: int = 4
    initial_backoff: float = 0.05
    max_backoff: float = 1.0
    jitter: float = 0.05
    attempt_timeout: float = 3.0


class BreakerSettings(_Section):
    """A circuit breaker per central system, in each worker process (adapters/breaker.py).

    It opens after `failure_threshold` transient failures in a row, or when at least
    `min_calls` attempts in the last `window` seconds failed at a rate of `error_rate` or
    more; while open, calls fail fast (503 `central-unavailable`, `Retry-After`). After
    `cool_down` seconds it lets `half_open_probes` trial calls through: that many successes
    close it, one failure opens it again. A central system's own `Retry-After` opens it for
    that long, at most `max_retry_after` seconds.
    """

    enabled: bool = True
    failure_threshold: int = Field(default=10, ge=1)
    window: float = Field(default=10.0, gt=0)
    error_rate: float = Field(default=0.5, gt=0, le=1)
    min_calls: int = Field(default=20, ge=1)
    cool_down: float = Field(default=5.0, gt=0)
    half_open_probes: int = Field(default=1, ge=1)
    max_retry_after: float = Field(default=60.0, gt=0)


class AdapterSettings(_Section):
    base_url: str = ""
    connect_timeout: float = 2.0
    max_response_bytes: int = 1024 * 1024
    pool_size: int = 64
    retry: RetrySettings = Field(default_factory=RetrySettings)
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)
    credentials: dict[str, SecretStr] = Field(default_factory=dict)
    # Adapter-specific settings that are not secrets (the audit adapter: `store`, `procedures`).
    options: dict[str, str] = Field(default_factory=dict)


class BrokerSettings(_Section):
    """The private local node `lgsp dev` and `make run` start (not used with an external broker)."""

    data_dir: Path = Path("var/rabbitmq")
    amqp_port: int = 5682
    management_port: int = 15682
    dist_port: int = 25682
    epmd_port: int = 4382
    user: str = "lgsp"
    password: SecretStr = SecretStr("")


class WorkerSettings(_Section):
    prefetch: int = 64
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"


class OpsSettings(_Section):
    """Operator tools: the credential, where queue facts come from, when to raise the alarm."""

    # The operator credential for /ops* (and /metrics when `metrics_auth`); client tokens never
    # pass. Empty: operator endpoints refuse everyone. `lgsp init` generates one.
    token: SecretStr = SecretStr("")
    metrics_auth: bool = False
    # RabbitMQ management API; empty URL: the local node's (`broker.management_port` on the bus
    # host), empty user: the bus URL's credentials. Unreachable: AMQP counts only.
    management_url: str = ""
    management_user: str = ""
    management_password: SecretStr = SecretStr("")
    management_timeout: float = 2.0
    # Verdict thresholds (messages ready in a queue).
    depth_warning: int = 100
    depth_critical: int = 1000
    dead_letters_warning: int = 1
    dead_letters_critical: int = 100
    # While this file exists, /readyz answers 503 so load balancers drain the node.
    maintenance_file: Path = Path("var/maintenance")
    stats_window_seconds: int = 600
    # A replayed request gets this much time again (its original deadline has passed).
    replay_timeout: float = 30.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LGSP_", env_nested_delimiter="__", extra="ignore")

    bus: BusSettings = Field(default_factory=BusSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)
    adapters: dict[str, AdapterSettings] = Field(default_factory=dict)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    tls: TlsSettings = Field(default_factory=TlsSettings)
    log_level: str = "info"
    log_format: str = "auto"  # auto: console on a terminal, JSON otherwise
    # Environment for the mock central systems (`LGSP_MOCK_<KEY>`), generated by `lgsp init`.
    mocks: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _audit_adapter_reads_the_audit_store(self) -> Settings:
        """The built-in `audit` adapter (subject access) reads the store this configuration's
        writer writes, with its subject key: derived here, so they are configured once."""
        own = self.adapters.get(AUDIT_ADAPTER) or AdapterSettings()
        self.adapters[AUDIT_ADAPTER] = own.model_copy(
            update={
                "options": {"store": str(self.audit.store), **own.options},
                "credentials": {"subject_key": self.audit.subject_key, **own.credentials},
            }
        )
        return self

    def adapter(self, name: str) -> AdapterSettings:
        return self.adapters.get(name) or AdapterSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 (signature of the hook)
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_path()),
        )


def config_path() -> Path:
    """Where the TOML file is: read once at start, the only environment read outside Settings."""
    return Path(os.environ.get("LGSP_CONFIG", str(DEFAULT_CONFIG_PATH)))
