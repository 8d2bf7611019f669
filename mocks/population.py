"""The population database mock: a SOAP 1.1 service behind X-Road-style auth.

Two operations, each on its own path (the path is part of the signature):

* ``POST /csdldc/v1/TraCuuThongTinCongDan``: match a citizen by personal ID,
  full name and date of birth. It matches, it does not search: the record is
  returned only when all three agree; when the ID exists but the name or the
  date of birth differ the answer says which, without the record; an unknown
  ID is an empty collection.
* ``POST /csdldc/v1/KhaiBaoTamTru``: declare a temporary residence; stored,
  de-duplicated by the ``Idempotency-Key`` header (see ``mocks.residence``).

The wire contract, with examples, is in docs/mocks.md; the fault codes are
``FAULT_CODES`` below. Authentication faults are HTTP 401 (refused by the
platform before any SOAP processing); every other fault is HTTP 500, as
SOAP 1.1 requires, with ``faultcode`` Client (the caller's fault: do not
retry) or Server (ours: retrying may help).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element

import structlog
from aiohttp import web

from mocks import soap, xroad
from mocks.citizen_xml import MATCH, MISMATCH, UNKNOWN_ID, citizen_element, lookup_response
from mocks.data import Dataset
from mocks.names import name_key
from mocks.records import Citizen
from mocks.residence import RESIDENCE, KeyConflict, setup_residence
from mocks.settings import MockSettings
from mocks.soap import SoapFault
from mocks.stats import STATS

LOOKUP_PATH = "/csdldc/v1/TraCuuThongTinCongDan"
DECLARE_PATH = "/csdldc/v1/KhaiBaoTamTru"

MALFORMED = "DC-001"
NOT_LICENSED = "DC-002"
OFFICER_NOT_AUTHORISED = "DC-003"
KEY_REUSED = "DC-004"
CITIZEN_MISMATCH = "DC-005"
INTERNAL = "DC-999"

#: Every fault code the service answers with, its HTTP status and meaning.
FAULT_CODES: dict[str, tuple[int, str]] = {
    xroad.AUTH_FAILED: (401, "authentication failed (client, ApiKey, user or header missing)"),
    xroad.SIGNATURE_INVALID: (401, "signature (Basic password) invalid"),
    xroad.TIMESTAMP_EXPIRED: (401, "timestamp missing, malformed or beyond the allowed skew"),
    MALFORMED: (500, "malformed request (XML, envelope, missing or invalid field)"),
    NOT_LICENSED: (500, "procedure not licensed to query the population database"),
    OFFICER_NOT_AUTHORISED: (500, "officer not authorised"),
    KEY_REUSED: (500, "idempotency key already used for a different declaration"),
    CITIZEN_MISMATCH: (500, "declaration names no citizen with this ID and name"),
    INTERNAL: (500, "internal error"),
}

# Procedure codes look like the national catalogue's ("1.001612"). Codes of
# group 9 are, in this mock, the ones not licensed to query the database.
_PROCEDURE = re.compile(r"^\d\.\d{6}$")
# Officers whose account was revoked; anyone else may ask (audited elsewhere).
_REVOKED_OFFICER_PREFIX = "REVOKED"
_PERSONAL_ID = re.compile(r"^\d{12}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
_VIETNAM = dt.timezone(dt.timedelta(hours=7))

log = structlog.get_logger("mocks.population")


@dataclass(frozen=True, slots=True)
class PopulationService:
    dataset: Dataset
    auth: xroad.XRoadAuth


POPULATION = web.AppKey("mocks.population", PopulationService)
# The caller's MaYeuCau, once read, so that a later fault can echo it.
REQUEST_ID = web.RequestKey("mocks.population.request_id", str)

Operation = Callable[[web.Request, PopulationService], Awaitable[web.Response]]


def _soap_operation(operation: Operation) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Authenticate, run, and turn any failure into a SOAP fault."""

    async def handler(request: web.Request) -> web.Response:
        service = request.app[POPULATION]
        try:
            service.auth.verify(request.path, request.headers)
            return await operation(request, service)
        except SoapFault as fault:
            return soap.fault_response(fault, request.get(REQUEST_ID))
        except web.HTTPException:
            raise  # aiohttp's own answers (413 body too large ...) are not SOAP
        except Exception:
            log.exception("mocks.population.internal_error", path=request.path)
            return soap.fault_response(SoapFault(INTERNAL, "Lỗi hệ thống", client=False))

    return handler


def _required(fields: dict[str, Element], name: str, max_length: int = 128) -> str:
    value = soap.text_of(fields, name)
    if value is None:
        raise SoapFault(MALFORMED, f"Thiếu trường bắt buộc {name}")
    if len(value) > max_length:
        raise SoapFault(MALFORMED, f"Trường {name} quá dài")
    return value


def _date(value: str, name: str, *, year_only: bool = False) -> str:
    """Check ``yyyyMMdd`` (or ``yyyy`` when allowed) and return it unchanged."""
    if year_only and re.fullmatch(r"\d{4}", value):
        return value
    try:
        if not re.fullmatch(r"\d{8}", value):
            raise ValueError(value)
        dt.datetime.strptime(value, "%Y%m%d")
    except ValueError as exc:
        raise SoapFault(MALFORMED, f"Trường {name} phải có dạng yyyyMMdd") from exc
    return value


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks and why: echoed, checked, and (in a real system) audited."""

    ma_yeu_cau: str
    ma_dvc: str
    ma_can_bo: str
    ma_don_vi: str
    ma_ho_so: str | None = None  # the case (hồ sơ thủ tục) the lookup is for


def _requester(request: web.Request, fields: dict[str, Element]) -> Requester:
    request[REQUEST_ID] = _required(fields, "MaYeuCau", 64)
    requester = Requester(
        ma_yeu_cau=request[REQUEST_ID],
        ma_dvc=_required(fields, "MaDVC", 32),
        ma_can_bo=_required(fields, "MaCanBo", 64),
        ma_don_vi=_required(fields, "MaDonVi", 64),
        ma_ho_so=soap.text_of(fields, "MaHoSoTTHC"),
    )
    request.app[STATS].purpose(
        str(request.match_info.route.name),
        requester.ma_can_bo,
        requester.ma_dvc,
        requester.ma_ho_so,
    )
    if not _PROCEDURE.match(requester.ma_dvc):
        raise SoapFault(MALFORMED, "MaDVC phải có dạng mã thủ tục quốc gia, ví dụ 1.001612")
    if requester.ma_dvc.startswith("9."):
        raise SoapFault(
            NOT_LICENSED, "Thủ tục không được cấp phép khai thác CSDL quốc gia về dân cư"
        )
    if requester.ma_can_bo.upper().startswith(_REVOKED_OFFICER_PREFIX):
        raise SoapFault(OFFICER_NOT_AUTHORISED, "Cán bộ không được phân quyền khai thác")
    return requester


def _personal_id(fields: dict[str, Element]) -> str:
    value = _required(fields, "SoDinhDanh", 12)
    if not _PERSONAL_ID.match(value):
        raise SoapFault(MALFORMED, "SoDinhDanh phải gồm 12 chữ số")
    return value


def mismatched_fields(citizen: Citizen, full_name: str, birth: str) -> list[str]:
    """Which of the caller's claims the record contradicts (empty: a match).

    Names compare case-insensitively with diacritics (``names.name_key``).
    A record with a full date of birth needs the same full date; a record
    that only knows the year accepts that year, alone or in a full date.
    """
    wrong = []
    if name_key(full_name) != name_key(citizen.ho_va_ten):
        wrong.append("HoVaTen")
    recorded = citizen.ngay_sinh
    if (recorded != birth) if len(recorded) == 8 else (birth[:4] != recorded):
        wrong.append("NgayThangNamSinh")
    return wrong


async def _lookup(request: web.Request, service: PopulationService) -> web.Response:
    element = soap.parse_operation(await request.read(), "TraCuuThongTinCongDan", MALFORMED)
    fields = soap.children(element)
    requester = _requester(request, fields)
    personal_id = _personal_id(fields)
    full_name = _required(fields, "HoVaTen", 100)
    birth = _date(_required(fields, "NgayThangNamSinh", 8), "NgayThangNamSinh", year_only=True)
    citizen = service.dataset.citizen_by_id(personal_id)
    if citizen is None:
        return soap.response(lookup_response(requester.ma_yeu_cau, UNKNOWN_ID))
    wrong = mismatched_fields(citizen, full_name, birth)
    if wrong:
        return soap.response(lookup_response(requester.ma_yeu_cau, MISMATCH, wrong))
    return soap.response(
        lookup_response(requester.ma_yeu_cau, MATCH, record=citizen_element(citizen))
    )


async def _declare(request: web.Request, service: PopulationService) -> web.Response:
    key = request.headers.get("Idempotency-Key", "")
    if not _IDEMPOTENCY_KEY.match(key):
        raise SoapFault(MALFORMED, "Thiếu hoặc sai header Idempotency-Key (1-128 ký tự ASCII)")
    element = soap.parse_operation(await request.read(), "KhaiBaoTamTru", MALFORMED)
    fields = soap.children(element)
    requester = _requester(request, fields)
    content = _declaration(fields, requester)
    received = dt.datetime.now(_VIETNAM).replace(microsecond=0)

    def answer(record_id: int) -> bytes:
        # Runs inside the store's transaction, only for a new key: raising
        # here stores nothing, and the key stays free for a corrected retry.
        citizen = service.dataset.citizen_by_id(str(content["SoDinhDanh"]))
        if citizen is None or name_key(citizen.ho_va_ten) != content["HoVaTen"]:
            raise SoapFault(CITIZEN_MISMATCH, "Không có công dân với SoDinhDanh và HoVaTen này")
        return soap.envelope(
            soap.group("KhaiBaoTamTruResponse", (
                soap.element("MaYeuCau", requester.ma_yeu_cau),
                soap.element("MaHoSo", f"TT31-{received:%Y}-{record_id:08d}"),
                soap.element("TrangThai", "DA_TIEP_NHAN"),
                soap.element("ThoiGianTiepNhan", received.isoformat()),
            ))
        )  # fmt: skip

    try:
        # A known key is answered before anything else is checked: a replay
        # gets the first answer.
        stored = request.app[RESIDENCE].declare(key, content, received.isoformat(), answer)
    except KeyConflict as exc:
        raise SoapFault(KEY_REUSED, "Idempotency-Key đã được dùng cho một khai báo khác") from exc
    reply = web.Response(body=stored.response, content_type="text/xml", charset="utf-8")
    reply.headers["Idempotent-Replayed"] = "true" if stored.replayed else "false"
    return reply


def _declaration(fields: dict[str, Element], requester: Requester) -> dict[str, object]:
    address = fields.get("DiaChiTamTru")
    if address is None:
        raise SoapFault(MALFORMED, "Thiếu DiaChiTamTru")
    parts = soap.children(address)
    codes = {
        "MaTinhThanh": (_required(parts, "MaTinhThanh", 2), 2),
        "MaQuanHuyen": (_required(parts, "MaQuanHuyen", 3), 3),
        "MaPhuongXa": (_required(parts, "MaPhuongXa", 5), 5),
    }
    for name, (code, width) in codes.items():
        if len(code) != width or not code.isdigit():
            raise SoapFault(MALFORMED, f"{name} phải gồm {width} chữ số")
    start = _date(_required(fields, "TuNgay", 8), "TuNgay")
    end = _date(_required(fields, "DenNgay", 8), "DenNgay")
    if end < start:
        raise SoapFault(MALFORMED, "DenNgay phải sau TuNgay")
    # The content the idempotency fingerprint covers: everything but the
    # request id, which a retry may renew.
    return {
        "SoDinhDanh": _personal_id(fields),
        "HoVaTen": name_key(_required(fields, "HoVaTen", 100)),
        "DiaChiTamTru": {
            "ChiTiet": _required(parts, "ChiTiet", 200),
            **{name: code for name, (code, _) in codes.items()},
            "QuocGia": soap.text_of(parts, "QuocGia") or "VN",
        },
        "TuNgay": start,
        "DenNgay": end,
        "LyDo": soap.text_of(fields, "LyDo") or "",
        "MaDVC": requester.ma_dvc,
        "MaCanBo": requester.ma_can_bo,
        "MaDonVi": requester.ma_don_vi,
    }


def setup_population(app: web.Application, settings: MockSettings, dataset: Path) -> None:
    """Add the population service to ``app``: routes, state, residence store."""

    async def service(app: web.Application) -> AsyncIterator[None]:
        with Dataset(dataset) as data:
            app[POPULATION] = PopulationService(
                data,
                xroad.XRoadAuth(
                    client=settings.population_client,
                    user=settings.population_user,
                    api_key=settings.population_api_key.get_secret_value(),
                    secret=settings.population_secret.get_secret_value(),
                    max_skew_ms=settings.max_clock_skew_s * 1000,
                ),
            )
            yield

    app.cleanup_ctx.append(service)
    setup_residence(app, settings.data_dir / "population-residence.sqlite3")
    app.router.add_post(LOOKUP_PATH, _soap_operation(_lookup), name="TraCuuThongTinCongDan")
    app.router.add_post(DECLARE_PATH, _soap_operation(_declare), name="KhaiBaoTamTru")
