"""The example calls `lgsp dev` prints and the README shows, one per installed operation.

The built-in operations' bodies are built from the mock data set (so they match a
record); any other operation shows the `example` its adapter declares.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from adapters.registry import Registry
from gateway.cli.init import demo_credentials
from mocks.birth_registrations import certificate_for
from schemas.config import config_path


def example_requests() -> dict[str, dict[str, object]]:
    """One valid request body per operation, from the deterministic mock data set."""
    from mocks.data import Dataset, ensure_dataset
    from mocks.settings import DataSettings

    # The data set only: no mock secrets needed.
    with Dataset(ensure_dataset(DataSettings())) as data:
        return example_bodies(data.examples())


def example_bodies(examples: dict[str, Any]) -> dict[str, dict[str, object]]:
    """Request bodies per operation from `Dataset.examples()` (whose keys are wire names)."""
    citizen, business, insured = examples["population"], examples["business"], examples["insurance"]
    born = citizen["NgayThangNamSinh"]
    iso_born = f"{born[:4]}-{born[4:6]}-{born[6:]}" if len(born) == 8 else born
    ins_born = insured["ngaySinh"]
    return {
        "population/citizen-verify": {
            "personal_id": citizen["SoDinhDanh"],
            "full_name": citizen["HoVaTen"],
            "date_of_birth": iso_born,
        },
        "population/residence-declaration": {
            "personal_id": citizen["SoDinhDanh"],
            "full_name": citizen["HoVaTen"],
            "address": {
                "detail": "Số 5 Lạch Tray",
                "province_code": "31",
                "district_code": "304",
                "ward_code": "11356",
            },
            "from_date": "2026-01-01",
            "to_date": "2026-12-31",
            "reason": "Đi làm",
        },
        "business/enterprise-lookup": {"tax_code": business["msdn"]},
        "insurance/participant-lookup": {"social_insurance_code": insured["maSoBhxh"]},
        "insurance/contribution-history": {
            "social_insurance_code": insured["maSoBhxh"],
            "from_month": f"{insured['tuThang'][:4]}-{insured['tuThang'][4:]}",
            "to_month": f"{insured['denThang'][:4]}-{insured['denThang'][4:]}",
        },
        "insurance/health-card-verify": {
            "card_code": insured["maThe"],
            "check_date": "-".join(insured["ngayKiemTra"][i:j] for i, j in YMD),
        },
        **_civil_status(citizen, iso_born),
        "insurance/code-search": {
            "full_name": insured["hoTen"],
            "date_of_birth": "-".join(ins_born[i:j] for i, j in YMD if ins_born[i:j]),
        },
    }


YMD = ((0, 4), (4, 6), (6, 8))


def _civil_status(citizen: dict[str, Any], iso_born: str) -> dict[str, dict[str, object]]:
    """The population example's own birth registration (the register derives from it)."""
    certificate = certificate_for(citizen["SoDinhDanh"], citizen["NgayThangNamSinh"])
    if certificate is None:
        return {}
    return {
        "civil-status/birth-registration-lookup": {
            "certificate_number": certificate.number,
            "child_full_name": citizen["HoVaTen"],
            "child_date_of_birth": iso_born,
        }
    }


# Extra headers an example needs: writes carry an Idempotency-Key (a repeat replays the answer).
EXAMPLE_HEADERS = {"population/residence-declaration": {"Idempotency-Key": "demo-declaration-0001"}}


def curl(base: str, path: str, body: dict[str, object], headers: dict[str, str]) -> str:
    parts = ["curl -s", shlex.quote(f"{base}/v1/{path}"), "-H 'Content-Type: application/json'"]
    parts += [f"-H {shlex.quote(f'{k}: {v}')}" for k, v in headers.items()]
    parts.append(f"-d {shlex.quote(json.dumps(body, ensure_ascii=False))}")
    return " \\\n  ".join(parts)


# The purpose trail operations on personal data require (docs/security.md).
PURPOSE_EXAMPLE = {
    "LGSP-Officer-Id": "CB-HP-0042",
    "LGSP-Procedure-Code": "1.001612",
    "LGSP-Case-Id": "HS-2026-000123",
}


def token_lines(base: str) -> list[str]:
    """The token call for the demo client `lgsp init` created (its secret is in var/)."""
    found = demo_credentials(config_path())
    if found is None:
        return ["# no demo client: create one with `lgsp clients add NAME --allow '*/*'`", ""]
    client_id, secret = found
    extract = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    return [
        "# an access token for the demo client (valid a few minutes; docs/security.md)",
        f"TOKEN=$(curl -s -u {client_id}:{secret} -d grant_type=client_credentials "
        f"{base}/token | {extract})",
        "",
    ]


def installed_examples(registry: Registry) -> dict[str, dict[str, object]]:
    """A request body for every installed operation that has one, in registry order."""
    try:
        from_data = example_requests()
    except Exception:  # no data set here: the adapters' declared examples still show
        from_data = {}
    found: dict[str, dict[str, object]] = {}
    for adapter in registry:
        for operation in adapter.operations.values():
            key = f"{adapter.name}/{operation.name}"
            body = from_data.get(key) or operation.example
            if body is not None:
                found[key] = body
    return found


def banner(base: str, registry: Registry) -> str:
    lines = ["", "=" * 72, f"LGSP Gateway is ready at {base}"]
    lines += [f"The contract: {base}/openapi.json, rendered at {base}/docs", ""]
    lines += token_lines(base)
    for path, body in installed_examples(registry).items():
        operation = registry.operation(*path.split("/", 1))
        headers = dict(PURPOSE_EXAMPLE) if operation and operation.personal_data else {}
        if operation is not None and operation.write:
            headers["Idempotency-Key"] = EXAMPLE_HEADERS.get(path, {}).get(
                "Idempotency-Key", "demo-" + path.replace("/", "-") + "-0001"
            )
        call = curl(base, path, body, headers) + ' \\\n  -H "Authorization: Bearer $TOKEN"'
        lines += [f"# {path}", call, ""]
    lines += ["Ctrl-C stops everything.", "=" * 72]
    return "\n".join(lines)


def dashboard_lines(base: str, ops_token: str) -> str:
    """Where the operator dashboard is; the URL signs in once, then a cookie does."""
    if not ops_token:
        return "Operator dashboard: no ops.token configured (run `lgsp init --force`)"
    return "\n".join(
        [
            f"Operator dashboard: {base}/ops?token={ops_token}",
            f"Metrics: {base}/metrics · queue health: `lgsp queues --watch`",
        ]
    )
