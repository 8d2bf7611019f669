"""docker-compose.yml is the cluster deployment, and valid against the Compose specification.

No Docker engine runs here, so the file is checked against the Compose
specification's JSON schema as `check-jsonschema` ships it (a PyPI package:
nothing fetched at test time), and for what the deployment must contain.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import jsonschema
from ruamel.yaml import YAML

COMPOSE = Path(__file__).parents[2] / "docker-compose.yml"


def compose_schema() -> dict[str, Any]:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text())
    return schema


def compose_file() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(COMPOSE.read_text())
    return loaded


def test_the_compose_file_is_valid_against_the_compose_specification_schema() -> None:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(compose_file()), key=str)
    assert errors == [], [e.message for e in errors]


def test_the_schema_check_refuses_a_broken_file() -> None:
    """The check can fail: an unknown service key is reported."""
    broken = compose_file()
    broken["services"]["gateway-1"]["replicaz"] = 2
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert list(validator.iter_errors(broken))


def test_the_deployment_has_three_broker_nodes_two_gateways_the_audit_writer_and_workers() -> None:
    services = compose_file()["services"]
    nodes = [name for name, s in services.items() if "rabbitmq" in str(s.get("image", ""))]
    assert len(nodes) == 3
    gateways = [n for n, s in services.items() if s.get("command", [None])[0] == "gateway"]
    assert len(gateways) == 2
    # The one published port is the edge's, which spreads requests over both gateways.
    assert [n for n, s in services.items() if s.get("ports") and "8080" in str(s["ports"])] == [
        "edge"
    ]
    commands = {tuple(s.get("command", ())[:2]) for s in services.values()}
    assert ("audit-writer",) in commands
    for adapter in ("population", "business", "insurance"):
        assert ("worker", adapter) in commands
        assert ("mock", adapter) in commands
    # Every process of ours lists the three nodes and declares three replicas.
    env = services["gateway-1"]["environment"]
    urls = json.loads(env["LGSP_BUS__URLS"].replace("${LGSP_BROKER_PASSWORD}", "x"))
    assert [u.rsplit("@", 1)[1] for u in urls] == [f"rabbitmq-{i}:5672/" for i in (1, 2, 3)]
    assert env["LGSP_BUS__QUORUM_REPLICAS"] == "3"
