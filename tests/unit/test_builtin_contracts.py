"""The SDK's contract suite, run against every built-in adapter as against a package's: each
subclass names its adapter, the examples docs/operations.md shows, and what its central
system answers (bodies recorded from the mocks by tests/fixtures/capture.py)."""

from __future__ import annotations

from typing import Any

from adapters.business import adapter as business
from adapters.business.client import TOKEN_PATH
from adapters.insurance import adapter as insurance
from adapters.population import adapter as population
from adapters.population.client import DECLARE_PATH
from adapters.testing import AdapterContract, CentralRequest, central_response
from tests.fixtures.fakes import recorded

CITIZEN = {"personal_id": "031301874276", "full_name": "Nguyễn Thùy Hiền"}
INSURED = {"social_insurance_code": "3122729119"}


class TestPopulationContract(AdapterContract):
    adapter = population

    def examples(self) -> dict[str, dict[str, Any]]:
        address = {
            "detail": "Số 5 Lạch Tray",
            "province_code": "31",
            "district_code": "304",
            "ward_code": "11356",
        }
        return {
            "citizen-verify": CITIZEN | {"date_of_birth": "2001-07-22"},
            "residence-declaration": CITIZEN
            | {"address": address, "from_date": "2026-01-01", "to_date": "2026-12-31"},
        }

    def central(self, request: CentralRequest) -> Any:
        name = "declaration_receipt.xml" if request.path == DECLARE_PATH else "verify_match.xml"
        return central_response(200, body=recorded("population", name))


class TestBusinessContract(AdapterContract):
    adapter = business

    def examples(self) -> dict[str, dict[str, Any]]:
        return {"enterprise-lookup": {"tax_code": "0223567699"}}

    def central(self, request: CentralRequest) -> Any:
        name = "token.json" if request.path == TOKEN_PATH else "enterprise_found.json"
        return central_response(200, body=recorded("business", name))


class TestInsuranceContract(AdapterContract):
    adapter = insurance

    def examples(self) -> dict[str, dict[str, Any]]:
        return {
            "participant-lookup": INSURED,
            "contribution-history": INSURED | {"from_month": "2025-01", "to_month": "2025-12"},
            "health-card-verify": {"card_code": "DN4313122729119", "check_date": "2026-06-01"},
            "code-search": {"full_name": "Nguyễn Đức Dũng", "date_of_birth": "1985-05-22"},
        }

    def central(self, request: CentralRequest) -> Any:
        name = {
            "getTraCuuTtHgdByMaSoBhxh": "participant.json",
            "getQuaTrinhThamGia": "history.json",
            "kiemTraTheBhyt": "card_valid.json",
            "getMaSoBhxhByTieuChi": "search.json",
        }[request.path.rsplit("/", 1)[-1]]
        return central_response(200, body=recorded("insurance", name))
