"""The example calls `lgsp dev` prints and the README shows, built from the mock data set."""

from __future__ import annotations

import json
import shlex
from typing import Any


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
        "insurance/code-search": {
            "full_name": insured["hoTen"],
            "date_of_birth": "-".join(ins_born[i:j] for i, j in YMD if ins_born[i:j]),
        },
    }


YMD = ((0, 4), (4, 6), (6, 8))
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
    from gateway.clients import demo_credentials
    from schemas.config import config_path

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


def banner(base: str) -> str:
    lines = ["", "=" * 72, f"LGSP Gateway is ready at {base}"]
    lines += [f"The contract: {base}/openapi.json, rendered at {base}/docs", ""]
    try:
        requests = example_requests()
    except Exception as exc:  # the banner must never take the stack down
        return "\n".join([*lines, f"(no example: {type(exc).__name__})", "=" * 72])
    lines += token_lines(base)
    for path, body in requests.items():
        headers = {**PURPOSE_EXAMPLE, **EXAMPLE_HEADERS.get(path, {})}
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
