"""The social-insurance mock: JSON POST in camelCase behind an API key.

Every call is ``POST /apiBHXH/<operation>`` with a JSON object body and the
header ``X-API-KEY``. Every answer is the envelope
``{"maLoi": "00", "moTa": "...", "duLieu": ...}``; ``ERROR_CODES`` below
lists the codes and their HTTP statuses. Operations:

* ``getTraCuuTtHgdByMaSoBhxh`` {maSoBhxh}: the participant and their household;
* ``getMaSoBhxhByTieuChi`` {hoTen, ngaySinh, gioiTinh?, maTinhKs?, maHuyenKs?,
  maXaKs?}: the codes of everyone matching (a list, possibly empty);
* ``getQuaTrinhThamGia`` {maSoBhxh, tuThang, denThang}: monthly contributions;
* ``kiemTraTheBhyt`` {maThe, hoTen?, ngaySinh?, ngayKiemTra?}: card validity.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import structlog
from aiohttp import web

from mocks.coverage import CLINICS, RATES, STATUS_TEXT, salary_in
from mocks.data import Dataset
from mocks.identifiers import is_card_code
from mocks.names import name_key
from mocks.records import LAST_CONTRIBUTION_MONTH, InsuredPerson
from mocks.settings import MockSettings
from mocks.stats import STATS

PREFIX = "/apiBHXH/"
# The purpose trail's fields in a request body: officer, procedure, case.
PURPOSE = ("maCanBo", "maThuTuc", "maHoSo")
API_KEY_HEADER = "X-API-KEY"

OK = "00"
NOT_FOUND = "01"
INVALID_INPUT = "02"
UNAUTHORISED = "03"
DETAILS_MISMATCH = "04"
INTERNAL = "99"

#: maLoi -> (HTTP status, moTa).
ERROR_CODES: dict[str, tuple[int, str]] = {
    OK: (200, "Thành công"),
    NOT_FOUND: (200, "Không tìm thấy dữ liệu"),
    INVALID_INPUT: (400, "Dữ liệu đầu vào không hợp lệ"),
    UNAUTHORISED: (401, "Thiếu hoặc sai khóa truy cập (X-API-KEY)"),
    DETAILS_MISMATCH: (200, "Thông tin họ tên hoặc ngày sinh không khớp với thẻ"),
    INTERNAL: (500, "Lỗi hệ thống"),
}

MAX_MONTHS = 240
MAX_SEARCH_RESULTS = 50
_VIETNAM = dt.timezone(dt.timedelta(hours=7))

log = structlog.get_logger("mocks.insurance")


class InsuranceError(Exception):
    """An answer with a non-success ``maLoi``."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class InsuranceService:
    dataset: Dataset
    api_key: str


INSURANCE = web.AppKey("mocks.insurance", InsuranceService)


def envelope(code: str, data: Any = None, detail: str | None = None) -> web.Response:
    status, text = ERROR_CODES[code]
    body = {"maLoi": code, "moTa": f"{text}: {detail}" if detail else text, "duLieu": data}
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


Operation = Callable[[dict[str, Any], InsuranceService], Any]


def _operation(operation: Operation) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Authenticate, read the JSON object, run, and wrap the result."""

    async def handler(request: web.Request) -> web.Response:
        service = request.app[INSURANCE]
        sent = request.headers.get(API_KEY_HEADER, "")
        if not hmac.compare_digest(sent.encode(), service.api_key.encode()):
            return envelope(UNAUTHORISED)
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return envelope(INVALID_INPUT, detail="body is not JSON")
        if not isinstance(body, dict):
            return envelope(INVALID_INPUT, detail="body must be a JSON object")
        # Who asks and why travels in the body, camelCase like every other field.
        request.app[STATS].purpose(
            str(request.match_info.route.name),
            *(body.get(name) if isinstance(body.get(name), str) else None for name in PURPOSE),
        )
        try:
            return envelope(OK, operation(body, service))
        except InsuranceError as error:
            return envelope(error.code, detail=error.detail)
        except Exception:
            log.exception("mocks.insurance.internal_error", path=request.path)
            return envelope(INTERNAL)

    return handler


def _text(body: dict[str, Any], name: str, pattern: str | None = None, *, required: bool = True
          ) -> str | None:  # fmt: skip
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise InsuranceError(INVALID_INPUT, f"{name} is required")
        return None
    if not isinstance(value, str) or (pattern is not None and not re.fullmatch(pattern, value)):
        raise InsuranceError(INVALID_INPUT, f"{name} is malformed")
    return value


def _code(body: dict[str, Any]) -> str:
    value = _text(body, "maSoBhxh", r"\d{10}")
    assert value is not None
    return value


def _person(p: InsuredPerson) -> dict[str, Any]:
    return {
        "maSoBhxh": p.ma_so_bhxh,
        "hoTen": p.ho_ten,
        "ngaySinh": p.ngay_sinh,
        "loaiNgaySinh": p.loai_ngay_sinh,
        "gioiTinh": p.gioi_tinh,
        "maTinhKs": p.ma_tinh_ks,
        "maHuyenKs": p.ma_huyen_ks,
        "maXaKs": p.ma_xa_ks,
        "soDinhDanh": p.so_dinh_danh,
    }


def household(body: dict[str, Any], service: InsuranceService) -> dict[str, Any]:
    person = service.dataset.insured_by_code(_code(body))
    if person is None:
        raise InsuranceError(NOT_FOUND)
    members = [
        {**_person(m), "quanHeChuHo": m.quan_he_chu_ho}
        for m in service.dataset.household(person.ma_ho)
    ]
    return {
        **_person(person),
        "trangThai": person.trang_thai,
        "trangThaiMoTa": STATUS_TEXT[person.trang_thai],
        "maHoGd": f"HGD{person.ma_ho:08d}",
        "quanHeChuHo": person.quan_he_chu_ho,
        "thanhVienHgd": members,
    }


def _same_birth(asked: str, recorded: str) -> bool:
    # A record or a question may hold only a year or a year and month: they
    # agree when the shorter is the start of the longer.
    shorter, longer = sorted((asked, recorded), key=len)
    return longer.startswith(shorter)


def search(body: dict[str, Any], service: InsuranceService) -> list[dict[str, Any]]:
    name = _text(body, "hoTen")
    birth = _text(body, "ngaySinh", r"\d{4}|\d{6}|\d{8}")
    assert name is not None
    assert birth is not None
    gender = body.get("gioiTinh")
    if gender is not None and (isinstance(gender, bool) or gender not in (1, 2, 3)):
        raise InsuranceError(INVALID_INPUT, "gioiTinh must be 1, 2 or 3")
    places = {
        field: _text(body, field, pattern, required=False)
        for field, pattern in (("maTinhKs", r"\d{2}"), ("maHuyenKs", r"\d{3}"),
                               ("maXaKs", r"\d{5}"))
    }  # fmt: skip
    found = []
    for p in service.dataset.insured_named(name):
        if not _same_birth(birth, p.ngay_sinh):
            continue
        if gender is not None and p.gioi_tinh != gender:
            continue
        if any(v is not None and getattr(p, _SNAKE[k]) != v for k, v in places.items()):
            continue
        found.append(_person(p))
        if len(found) == MAX_SEARCH_RESULTS:
            break
    return found


_SNAKE = {"maTinhKs": "ma_tinh_ks", "maHuyenKs": "ma_huyen_ks", "maXaKs": "ma_xa_ks"}


def _months(start: str, end: str) -> list[str]:
    first = int(start[:4]) * 12 + int(start[4:]) - 1
    last = int(end[:4]) * 12 + int(end[4:]) - 1
    return [f"{i // 12:04d}{i % 12 + 1:02d}" for i in range(first, last + 1)]


def contributions(body: dict[str, Any], service: InsuranceService) -> dict[str, Any]:
    code = _code(body)
    month = r"\d{4}(0[1-9]|1[0-2])"
    start, end = _text(body, "tuThang", month), _text(body, "denThang", month)
    assert start is not None
    assert end is not None
    if end < start:
        raise InsuranceError(INVALID_INPUT, "denThang must not precede tuThang")
    months = _months(start, end)
    if len(months) > MAX_MONTHS:
        raise InsuranceError(INVALID_INPUT, f"at most {MAX_MONTHS} months per call")
    person = service.dataset.insured_by_code(code)
    if person is None:
        raise InsuranceError(NOT_FOUND)
    rows = []
    for spell in service.dataset.spells(code):
        last = spell.den_thang or LAST_CONTRIBUTION_MONTH
        for m in months:
            if spell.tu_thang <= m <= last:
                salary = salary_in(spell, m)
                rows.append({
                    "thang": m,
                    "maDonVi": spell.ma_don_vi,
                    "tenDonVi": spell.ten_don_vi,
                    "mucLuong": salary,
                    "soTien": round(salary * RATES[spell.loai_dong]),
                    "loaiDong": spell.loai_dong,
                })  # fmt: skip
    rows.sort(key=lambda r: str(r["thang"]))
    return {"maSoBhxh": code, "hoTen": person.ho_ten, "tuThang": start, "denThang": end,
            "tongSoThang": len(rows), "danhSach": rows}  # fmt: skip


def card(body: dict[str, Any], service: InsuranceService) -> dict[str, Any]:
    number = _text(body, "maThe", r"[A-Z]{2}[1-5]\d{12}")
    assert number is not None
    if not is_card_code(number):
        raise InsuranceError(INVALID_INPUT, "maThe is malformed")
    day = _text(body, "ngayKiemTra", r"\d{8}", required=False)
    if day is None:
        day = dt.datetime.now(_VIETNAM).strftime("%Y%m%d")
    person = service.dataset.insured_by_card(number)
    if person is None:
        raise InsuranceError(NOT_FOUND)
    name = _text(body, "hoTen", required=False)
    birth = _text(body, "ngaySinh", r"\d{4}|\d{6}|\d{8}", required=False)
    if (name is not None and name_key(name) != person.ho_ten_key) or (
        birth is not None and not _same_birth(birth, person.ngay_sinh)
    ):
        raise InsuranceError(DETAILS_MISMATCH)
    valid = person.tu_ngay_dt <= day <= person.den_ngay_dt
    reason = "" if valid else ("Thẻ hết hạn" if day > person.den_ngay_dt else
                               "Thẻ chưa đến thời hạn sử dụng")  # fmt: skip
    return {
        "maThe": person.ma_the,
        "maSoBhxh": person.ma_so_bhxh,
        "hoTen": person.ho_ten,
        "ngaySinh": person.ngay_sinh,
        "loaiNgaySinh": person.loai_ngay_sinh,
        "gioiTinh": person.gioi_tinh,
        "maKCB": person.ma_kcb,
        "tenKCB": CLINICS[person.ma_kcb],
        "tuNgayDt": person.tu_ngay_dt,
        "denNgayDt": person.den_ngay_dt,
        "mucHuong": person.muc_huong,
        "ngayKiemTra": day,
        "conHieuLuc": valid,
        "lyDo": reason,
    }


OPERATIONS: dict[str, Operation] = {
    "getTraCuuTtHgdByMaSoBhxh": household,
    "getMaSoBhxhByTieuChi": search,
    "getQuaTrinhThamGia": contributions,
    "kiemTraTheBhyt": card,
}


def setup_insurance(app: web.Application, settings: MockSettings, dataset: Path) -> None:
    """Add the social-insurance service to ``app``."""

    async def service(app: web.Application) -> AsyncIterator[None]:
        with Dataset(dataset) as data:
            app[INSURANCE] = InsuranceService(data, settings.insurance_api_key.get_secret_value())
            yield

    app.cleanup_ctx.append(service)
    for name, operation in OPERATIONS.items():
        app.router.add_post(PREFIX + name, _operation(operation), name=name)
