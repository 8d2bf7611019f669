"""The insurance adapter's wire: recorded answers → the local model, the database's error codes →
our errors, and the requests we build (checked against the contract and the real mock)."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from adapters.central import CentralSession
from adapters.errors import CentralProtocolError, CentralRejected, RecordNotFound, TransientError
from adapters.insurance import (
    adapter,
    code_search,
    contribution_history,
    health_card_verify,
    participant_lookup,
    wire,
)
from adapters.insurance.client import CARD, HISTORY, HOUSEHOLD, PREFIX, SEARCH, InsuranceClient
from mocks.data import Dataset, ensure_dataset
from mocks.settings import MockSettings
from schemas.config import AdapterSettings
from schemas.insurance import (
    CodeSearchRequest,
    ContributionHistoryRequest,
    ContributionKind,
    HealthCardVerifyRequest,
    ParticipantLookupRequest,
    ParticipationStatus,
    Sex,
)
from tests.fixtures.fakes import ScriptedSession, answer, context, recorded
from tests.support.stack import running_mocks

SETTINGS = AdapterSettings.model_validate({"credentials": {"api_key": "k3y"}})


def data_of(name: str) -> Any:
    return orjson.loads(recorded("insurance", name))["duLieu"]


def client_with(*script: Any) -> tuple[InsuranceClient, ScriptedSession]:
    session = ScriptedSession(list(script))
    return InsuranceClient(session, SETTINGS), session


# -- answers → local model -----------------------------------------------------------------


def test_participant_with_full_date_of_birth() -> None:
    p = wire.participant(data_of("participant.json"))
    assert p.social_insurance_code == "3107742269"
    assert p.date_of_birth == date(1990, 7, 6)
    assert (p.birth_year, p.birth_month, p.birth_date_precision) == (1990, 7, "day")
    assert p.sex is Sex.FEMALE
    assert p.status is ParticipationStatus.PARTICIPATING
    assert p.birth_registration_place is not None
    assert p.birth_registration_place.province_code == "31"
    assert p.personal_id is not None
    assert p.household_members
    assert p.social_insurance_code in {m.social_insurance_code for m in p.household_members}
    assert all(m.relation_to_head for m in p.household_members)


def test_year_only_and_year_month_births_never_invent_a_day() -> None:
    year = wire.participant(data_of("participant_year_only.json"))
    assert (year.date_of_birth, year.birth_year, year.birth_month) == (None, 1959, None)
    assert year.birth_date_precision == "year"
    month = wire.participant(data_of("participant_year_month.json"))
    assert (month.date_of_birth, month.birth_year, month.birth_month) == (None, 1968, 7)
    assert month.birth_date_precision == "month"
    document = orjson.loads(month.model_dump_json())
    assert document["date_of_birth"] is None  # an explicit null, not a missing key


def test_history_months_are_iso_and_kinds_are_enums() -> None:
    h = wire.history(data_of("history.json"))
    assert (h.from_month, h.to_month) == ("2025-01", "2025-12")
    assert h.months_with_contributions == len(h.contributions)
    assert h.contributions[0].month == "2025-01"
    assert h.contributions[0].kind is ContributionKind.COMPULSORY
    assert h.contributions[0].employer_code is not None
    voluntary = wire.history(data_of("history_voluntary.json"))
    assert {c.kind for c in voluntary.contributions} == {ContributionKind.VOLUNTARY}
    assert {c.employer_code for c in voluntary.contributions} == {None}  # "" on the wire


def test_valid_card() -> None:
    card = wire.card(data_of("card_valid.json"))
    assert card.valid is True
    assert card.invalid_reason is None
    assert card.card_code == "DN4313107742269"
    assert card.benefit_level == 4
    assert card.benefit_percent == 80
    assert card.check_date == date(2026, 6, 1)
    assert card.valid_from is not None
    assert card.valid_to is not None
    assert card.valid_from <= card.check_date <= card.valid_to
    assert card.clinic_code is not None
    assert card.clinic_name is not None
    assert card.holder.social_insurance_code == "3107742269"


def test_expired_and_not_yet_valid_cards() -> None:
    expired = wire.card(data_of("card_expired.json"))
    assert (expired.valid, expired.invalid_reason) == (False, "expired")
    early = wire.card(data_of("card_year_month.json"))
    assert (early.valid, early.invalid_reason) == (False, "not_yet_valid")
    assert early.holder.birth_date_precision == "month"


def test_search_matches() -> None:
    (match,) = wire.matches(data_of("search.json"))
    assert match.social_insurance_code == "3107742269"
    assert match.full_name == "Bùi Thị Lan"


def test_text_is_nfc() -> None:
    raw = data_of("participant.json")
    raw["hoTen"] = unicodedata.normalize("NFD", raw["hoTen"])
    p = wire.participant(raw)
    assert p.full_name == "Bùi Thị Lan"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(loaiNgaySinh=7),
        lambda d: d.update(ngaySinh="19901399"),
        lambda d: d.update(maSoBhxh=None),
        lambda d: d.update(thanhVienHgd="x"),
    ],
)
def test_unusable_participants_are_protocol_errors(mutate: Any) -> None:
    raw = data_of("participant.json")
    mutate(raw)
    with pytest.raises(CentralProtocolError) as info:
        wire.participant(raw)
    assert "3107742269" not in info.value.detail


# -- the client: the database's error codes ------------------------------------------------


@pytest.mark.parametrize(
    ("status", "name", "error"),
    [
        (200, "not_found.json", RecordNotFound),
        (400, "invalid.json", CentralRejected),
        (200, "card_mismatch.json", CentralRejected),
    ],
)
async def test_error_codes_map_to_our_errors(
    status: int, name: str, error: type[Exception]
) -> None:
    client, _ = client_with(answer(status, recorded("insurance", name)))
    with pytest.raises(error):
        await client.call(HOUSEHOLD, {"maSoBhxh": "3107742269"})


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, b'{"maLoi": "99", "moTa": "...", "duLieu": null}', TransientError),
        (503, b"Injected fault", TransientError),
        (401, b'{"maLoi": "03", "moTa": "...", "duLieu": null}', CentralProtocolError),
        (200, b'{"maLoi": "00", "moTa": "Th', CentralProtocolError),
        (200, b'{"maLoi": "42", "moTa": "?", "duLieu": null}', CentralProtocolError),
        (404, b"Not Found", CentralProtocolError),
    ],
)  # fmt: skip
async def test_infrastructure_and_unknown_answers(
    status: int, body: bytes, error: type[Exception]
) -> None:
    client, _ = client_with(answer(status, body))
    with pytest.raises(error):
        await client.call(HOUSEHOLD, {"maSoBhxh": "3107742269"})


async def test_requests_match_the_wire_contract() -> None:
    ok = answer(200, recorded("insurance", "history.json"))
    client, session = client_with(ok)
    await contribution_history(
        ContributionHistoryRequest(
            social_insurance_code="3107742269", from_month="2025-01", to_month="2025-12"
        ),
        context(client),
    )
    (sent,) = session.sent
    assert (sent.method, sent.path) == ("POST", PREFIX + HISTORY)
    assert sent.headers["X-API-KEY"] == "k3y"
    # The purpose trail travels in every body, camelCase like every other field.
    trail = {"maCanBo": "CB-HP-0042", "maThuTuc": "1.001612", "maHoSo": "HS-2026-000123"}
    assert sent.json == {
        "maSoBhxh": "3107742269",
        "tuThang": "202501",
        "denThang": "202512",
        **trail,
    }

    client, session = client_with(answer(200, recorded("insurance", "card_valid.json")))
    request = HealthCardVerifyRequest(
        card_code="DN4313107742269", check_date=date(2026, 6, 1), full_name="Bùi Thị Lan"
    )
    await health_card_verify(request, context(client))
    assert session.sent[0].path == PREFIX + CARD
    assert session.sent[0].json == {
        "maThe": "DN4313107742269",
        "ngayKiemTra": "20260601",
        "hoTen": "Bùi Thị Lan",
        **trail,
    }

    client, session = client_with(answer(200, recorded("insurance", "search.json")))
    search = CodeSearchRequest(full_name="Bùi Thị Lan", date_of_birth="1990-07", sex=Sex.FEMALE)
    await code_search(search, context(client))
    assert session.sent[0].path == PREFIX + SEARCH
    assert session.sent[0].json == {
        "hoTen": "Bùi Thị Lan",
        "ngaySinh": "199007",
        "gioiTinh": 2,
        **trail,
    }


# -- the request models --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"social_insurance_code": "31077422", "from_month": "2025-01", "to_month": "2025-02"},
         "social_insurance_code"),
        ({"social_insurance_code": "3107742269", "from_month": "2025-13", "to_month": "2025-12"},
         "from_month"),
        ({"social_insurance_code": "3107742269", "from_month": "202501", "to_month": "2025-12"},
         "from_month"),
    ],
)  # fmt: skip
def test_history_request_fields_are_validated(body: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ContributionHistoryRequest.model_validate(body)
    assert info.value.errors()[0]["loc"] == (field,)


def test_history_range_is_ordered_and_bounded() -> None:
    with pytest.raises(ValidationError, match="must not precede"):
        ContributionHistoryRequest(
            social_insurance_code="3107742269", from_month="2025-06", to_month="2025-05"
        )
    with pytest.raises(ValidationError, match="at most 120 months"):
        ContributionHistoryRequest(
            social_insurance_code="3107742269", from_month="2015-01", to_month="2025-01"
        )
    ok = ContributionHistoryRequest(
        social_insurance_code="3107742269", from_month="2015-02", to_month="2025-01"
    )
    assert ok.from_month == "2015-02"


@pytest.mark.parametrize("code", ["DN431310774226", "XX4313107742269", "DN6313107742269", "dn43"])
def test_card_codes_are_validated(code: str) -> None:
    with pytest.raises(ValidationError) as info:
        HealthCardVerifyRequest.model_validate({"card_code": code})
    assert info.value.errors()[0]["loc"] == ("card_code",)


# -- against the real mock -----------------------------------------------------------------


@pytest.fixture
async def insurance_mock(
    mock_settings: MockSettings, generated: dict[str, Any]
) -> AsyncIterator[InsuranceClient]:
    async with running_mocks(mock_settings, ["insurance"]) as urls:
        settings = AdapterSettings.model_validate(
            {
                "base_url": urls["insurance"],
                "credentials": generated["adapters"]["insurance"]["credentials"],
            }
        )
        session = CentralSession(settings)
        try:
            yield InsuranceClient(session, settings)
        finally:
            await session.aclose()


async def test_the_mock_accepts_every_request_we_build(
    insurance_mock: InsuranceClient, mock_settings: MockSettings
) -> None:
    with Dataset(ensure_dataset(mock_settings)) as data:
        ex = data.examples()["insurance"]
    ctx = context(insurance_mock)
    found = await participant_lookup(
        ParticipantLookupRequest(social_insurance_code=ex["maSoBhxh"]), ctx
    )
    assert found.participant.social_insurance_code == ex["maSoBhxh"]
    months = await contribution_history(
        ContributionHistoryRequest(
            social_insurance_code=ex["maSoBhxh"], from_month="2025-01", to_month="2025-12"
        ),
        ctx,
    )
    assert months.contributions
    card = await health_card_verify(
        HealthCardVerifyRequest(
            card_code=ex["maThe"],
            check_date=date(2026, 6, 1),
            full_name=ex["hoTen"],
            date_of_birth=wire.ymd(ex["ngaySinh"]),
        ),
        ctx,
    )
    assert card.valid is True
    codes = await code_search(
        CodeSearchRequest(
            full_name=ex["hoTen"], date_of_birth=wire.ymd(ex["ngaySinh"]).isoformat()
        ),
        ctx,
    )
    assert ex["maSoBhxh"] in {m.social_insurance_code for m in codes.matches}


def test_retry_policy_is_declared_and_configuration_overrides_it() -> None:
    declared = adapter.retry_policy(AdapterSettings())
    assert declared == adapter.retry
    assert declared.attempt_timeout >= 4  # history queries scan months: patient attempts
    configured = AdapterSettings.model_validate({"retry": {"attempts": 2}})
    assert adapter.retry_policy(configured).attempts == 2
