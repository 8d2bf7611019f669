"""One setting, `port_offset` (`LGSP_PORT_OFFSET`), moves every port of a local stack and every
local URL that names one; remote URLs stay; it is applied once."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.config import Settings
from schemas.ports import moved_url

BASE: dict[str, object] = {
    "bus": {"url": "amqp://lgsp:pw@127.0.0.1:5682/"},
    "adapters": {
        "population": {"base_url": "http://127.0.0.1:8701"},
        "remote": {"base_url": "https://csdl.example.gov.vn:8443/api"},
    },
}


def test_every_local_port_and_url_moves_by_the_offset() -> None:
    s = Settings.model_validate({**BASE, "port_offset": 100})
    b = s.broker
    assert (b.amqp_port, b.management_port, b.dist_port, b.epmd_port) == (5782, 15782, 25782, 4482)
    assert b.data_dir == Path("var/rabbitmq-100")
    assert s.bus.url.get_secret_value() == "amqp://lgsp:pw@127.0.0.1:5782/"
    assert s.gateway.port == 8180
    assert s.worker.metrics_base_port == 9510
    assert s.adapter("population").base_url == "http://127.0.0.1:8801"
    assert s.adapter("remote").base_url == "https://csdl.example.gov.vn:8443/api"


def test_the_offset_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGSP_PORT_OFFSET", "7")
    assert Settings.model_validate(BASE).gateway.port == 8087


def test_settings_rebuilt_from_a_dump_are_not_moved_twice() -> None:
    moved = Settings.model_validate({**BASE, "port_offset": 100})
    assert moved.port_offset == 0
    again = Settings.model_validate(moved.model_dump(mode="python"))
    assert again.gateway.port == 8180


def test_a_bus_url_to_another_broker_is_left_alone() -> None:
    s = Settings.model_validate({"bus": {"url": "amqp://u:p@10.0.0.5:5672/"}, "port_offset": 100})
    assert s.bus.url.get_secret_value() == "amqp://u:p@10.0.0.5:5672/"


def test_moved_url_keeps_user_path_and_query() -> None:
    assert moved_url("http://u:p@localhost:80/a?b=1", 5) == "http://u:p@localhost:85/a?b=1"
    assert moved_url("http://127.0.0.1/no-port", 5) == "http://127.0.0.1/no-port"
    assert moved_url("amqp://127.0.0.1:5672/", 5, only_port=5682) == "amqp://127.0.0.1:5672/"
