"""A citizen's trail across the three central systems, through subject access.

Agencies look a person up in the population, social-insurance and business
databases; the citizen's portal then asks `POST /v1/audit/subject-access`
and sees every access, newest first and paginated, with agency, officer,
procedure, case and disclosed field groups; a confidential client stays
hidden until its date (an inspector's report shows it at once); another
person's accesses never appear; every disclosing answer's receipt resolves
to its record; each central system received the purpose trail its own way.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.audit.checkpoints import load_public_key
from gateway.audit.publisher import RECEIPT_HEADER
from gateway.audit.store import AuditStore
from gateway.audit.verify import verify_trail
from gateway.cli.audit import report_rows
from mocks.data import Dataset
from mocks.settings import MockSettings
from tests.integration.security_support import audit_writer, bearer, clients
from tests.support.rabbit import Rabbit
from tests.support.stack import Stack, running_stack

TODAY = datetime.now(UTC).date()
ACCESS = "/v1/audit/subject-access"
EVERYTHING = {"rate": 1e4, "burst": 10000}
AUTH = clients(
    portal={
        "title": "Cổng dịch vụ công tỉnh",
        "allow": ["audit/subject-access"],
        "rate_limit": EVERYTHING,
    },
    ward={
        "title": "UBND phường Lê Chân",
        "allow": ["population/*#*", "insurance/participant-lookup", "business/enterprise-lookup"],
        "rate_limit": EVERYTHING,
    },
    police={
        "title": "Công an thành phố",
        "allow": ["population/citizen-verify"],
        "confidential": True,
        "disclose_after": (TODAY + timedelta(days=30)).isoformat(),
        "rate_limit": EVERYTHING,
    },
    inspection={
        "title": "Thanh tra tỉnh",
        "allow": ["insurance/participant-lookup#household"],
        "confidential": True,
        "disclose_after": (TODAY - timedelta(days=1)).isoformat(),
        "rate_limit": EVERYTHING,
    },
)


def trail(officer: str, procedure: str, case: str) -> dict[str, str]:
    return {"LGSP-Officer-Id": officer, "LGSP-Procedure-Code": procedure, "LGSP-Case-Id": case}


def person(dataset: Dataset) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A person known to both population and insurance, and an enterprise code of 'theirs'."""
    for n in range(200):
        insured = dataset.insured(n)
        citizen = dataset.citizen_by_id(insured.so_dinh_danh)
        if citizen is not None and len(citizen.ngay_sinh) == 8:
            born = datetime.strptime(citizen.ngay_sinh, "%Y%m%d").date()
            verify = {
                "personal_id": citizen.so_dinh_danh,
                "full_name": citizen.ho_va_ten,
                "date_of_birth": born.isoformat(),
            }
            return verify, {"social_insurance_code": insured.ma_so_bhxh}, _msdn(dataset)
    raise AssertionError("the data set has no person in both population and insurance")


def _msdn(dataset: Dataset) -> str:
    return str(dataset.examples()["business"]["msdn"])


async def call(
    stack: Stack, client: str, path: str, body: Any, purpose: dict[str, str]
) -> dict[str, str]:
    response = await stack.client.post(
        path, json=body, headers={**bearer(stack.token(client)), **purpose}
    )
    assert response.status == 200, await response.text()
    return dict(response.headers)


async def test_a_citizen_sees_who_accessed_their_data_across_all_three_systems(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    dataset: Dataset,
    tmp_path: Path,
) -> None:
    verify, insured, msdn = person(dataset)
    other = dataset.citizen(5)
    other_body = {
        "personal_id": other.so_dinh_danh,
        "full_name": other.ho_va_ten,
        "date_of_birth": datetime.strptime(other.ngay_sinh, "%Y%m%d").date().isoformat()
        if len(other.ngay_sinh) == 8
        else "1990-01-01",
    }
    store_path = tmp_path / "audit.sqlite3"
    audit = {"store": str(store_path)}
    async with (
        running_stack(rabbit, mock_settings, generated, auth=AUTH, audit=audit) as stack,
        audit_writer(stack.settings, store_path) as running,
    ):
        receipts = []
        verify_path, insured_path = (
            "/v1/population/citizen-verify",
            "/v1/insurance/participant-lookup",
        )
        business = ("/v1/business/enterprise-lookup", {"tax_code": msdn})
        calls = [
            ("ward", verify_path, verify, trail("CB-LC-007", "1.001612", "HS-1")),
            ("ward", insured_path, insured, trail("CB-LC-007", "1.002345", "HS-2")),
            ("ward", *business, trail("CB-LC-008", "2.001610", "HS-3")),
            ("police", verify_path, verify, trail("CA-0001", "1.004194", "VU-77")),
            ("inspection", insured_path, insured, trail("TT-0003", "9.000001", "TT-5")),
            ("ward", verify_path, other_body, trail("CB-LC-007", "1.001612", "HS-9")),
        ]
        for client, path, body, purpose in calls:
            headers = await call(stack, client, path, body, purpose)
            receipts.append(headers[RECEIPT_HEADER])
        async with asyncio.timeout(15):
            await running.writer.wait_written(len(calls))

        # Receipts resolve to their records.
        for receipt, (client, path, _, purpose) in zip(receipts, calls, strict=True):
            (record,) = running.store.search(event_id=receipt)
            assert record["client_id"] == client
            assert record["operation"] == path.removeprefix("/v1/")
            assert record["case_id"] == purpose["LGSP-Case-Id"]

        asked = {**verify, **insured, "tax_codes": [msdn]}
        del asked["full_name"], asked["date_of_birth"]
        portal = trail("CONG-DVC", "1.001612", "TRA-CUU-1")
        response = await stack.client.post(
            ACCESS, json=asked, headers={**bearer(stack.token("portal")), **portal}
        )
        assert response.status == 200, await response.text()
        assert response.headers[RECEIPT_HEADER]  # subject access is itself a disclosure
        answer = await response.json()
        accesses = answer["accesses"]
        # The police's access is hidden until its date; the other person's never shows.
        assert [(a["agency"], a["case_id"]) for a in accesses] == [
            ("Thanh tra tỉnh", "TT-5"),
            ("UBND phường Lê Chân", "HS-3"),
            ("UBND phường Lê Chân", "HS-2"),
            ("UBND phường Lê Chân", "HS-1"),
        ]
        assert [a["receipt"] for a in accesses] == [
            receipts[4],
            receipts[2],
            receipts[1],
            receipts[0],
        ]
        population, insurance, enterprise = accesses[3], accesses[2], accesses[1]
        assert population["identifier"] == "personal_id"
        assert population["operation"] == "population/citizen-verify"
        assert population["officer_id"] == "CB-LC-007"
        assert (population["procedure_code"], population["procedure_name"]) == (
            "1.001612",
            "Đăng ký thường trú",
        )
        assert population["status"] == 200
        assert population["disclosed"] == [
            "base",
            "addresses",
            "family",
            "mismatch-detail",
            "sensitive",
        ]
        assert insurance["identifier"] == "social_insurance_code"
        assert insurance["disclosed"] == ["base"]  # the ward may not see the household
        assert accesses[0]["disclosed"] == ["base", "household"]
        assert enterprise["identifier"] == "tax_code"
        assert enterprise["procedure_name"] == "Đăng ký thành lập hộ kinh doanh"
        assert answer["next_cursor"] is None
        assert answer["archived"] is False
        assert answer["live_since"] is not None

        # A page at a time, newest first, no overlap.
        first = await stack.client.post(
            ACCESS, json={**asked, "limit": 3}, headers={**bearer(stack.token("portal")), **portal}
        )
        page = await first.json()
        assert len(page["accesses"]) == 3
        assert page["next_cursor"] is not None
        second = await stack.client.post(
            ACCESS,
            json={**asked, "limit": 3, "cursor": page["next_cursor"]},
            headers={**bearer(stack.token("portal")), **portal},
        )
        rest = (await second.json())["accesses"]
        # The first subject-access call is in the trail now too (the portal looked).
        paged = [a["receipt"] for a in page["accesses"] + rest]
        assert paged[1:] == [a["receipt"] for a in accesses]
        assert page["accesses"][0]["operation"] == "audit/subject-access"

        # A period before today finds nothing.
        empty = await stack.client.post(
            ACCESS,
            json={**asked, "until": (TODAY - timedelta(days=2)).isoformat()},
            headers={**bearer(stack.token("portal")), **portal},
        )
        assert (await empty.json())["accesses"] == []

        # Only the portal may ask.
        refused = await stack.client.post(
            ACCESS, json=asked, headers={**bearer(stack.token("ward")), **portal}
        )
        assert refused.status == 403

        # The inspector sees the police at once.
        args = argparse.Namespace(
            subject=[verify["personal_id"]], client=None, since=None, until=None, limit=100
        )
        rows = report_rows(args, stack.settings)
        police = [r for r in rows if r["client_id"] == "police"]
        assert len(police) == 1
        assert police[0]["confidential_until"] == (TODAY + timedelta(days=30)).isoformat()
        by_client = argparse.Namespace(
            subject=None, client="police", since=str(TODAY), until=None, limit=100
        )
        assert [r["case_id"] for r in report_rows(by_client, stack.settings)] == ["VU-77"]

        # Each central system received the purpose trail in its own wire style.
        for system, officer, procedure, case in (
            ("population", "CB-LC-007", "1.001612", "HS-1"),
            ("insurance", "CB-LC-007", "1.002345", "HS-2"),
            ("business", "CB-LC-008", "2.001610", "HS-3"),
            ("population", "CA-0001", "1.004194", "VU-77"),
        ):
            received = (await stack.mock_stats(system))["purpose_trails"]
            assert {
                "officer_id": officer,
                "procedure_code": procedure,
                "case_id": case,
            }.items() <= next(t for t in received if t["case_id"] == case).items()

    # The writer signed the head at stop; the whole trail verifies against its checkpoints.
    writer = running.writer.settings.audit
    store = AuditStore(store_path, stack.settings.audit.chain_key.get_secret_value().encode())
    try:
        verdict = verify_trail(
            store,
            stack.settings.audit.chain_key.get_secret_value().encode(),
            archive_dir=tmp_path / "archive",
            checkpoints=writer.checkpoint_file,
            public_key=load_public_key(writer.checkpoint_key_file),
        )
    finally:
        store.close()
    assert verdict.ok, verdict.problem
    assert verdict.checkpoints >= 1
