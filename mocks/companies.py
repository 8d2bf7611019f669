"""Synthetic enterprises of the business register, with their people.

Representatives and members are citizens of the population data set (by
personal ID, with the same name and date of birth), old enough at founding.
About one enterprise in ten is a dependent unit (a branch, ``XXXXXXXXXX-NNN``)
of an enterprise generated before it. Tax codes carry Hải Phòng's prefix 02
and a correct check digit.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Sequence

from mocks.identifiers import tax_check_digit
from mocks.names import Weighted, ascii_fold
from mocks.places import HAI_PHONG
from mocks.records import Activity, Citizen, Enterprise, Member, Representative


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# VSIC 2018 level-4 codes, grouped by the word a company name uses for them.
VSIC: dict[str, str] = {k: _nfc(v) for k, v in {
    "1020": "Chế biến, bảo quản thuỷ sản và các sản phẩm từ thuỷ sản",
    "1410": "May trang phục (trừ trang phục từ da lông thú)",
    "1520": "Sản xuất giày, dép",
    "2220": "Sản xuất sản phẩm từ plastic",
    "2511": "Sản xuất các cấu kiện kim loại",
    "3011": "Đóng tàu và cấu kiện nổi",
    "4101": "Xây dựng nhà để ở",
    "4102": "Xây dựng nhà không để ở",
    "4212": "Xây dựng công trình đường bộ",
    "4290": "Xây dựng công trình kỹ thuật dân dụng khác",
    "4321": "Lắp đặt hệ thống điện",
    "4520": "Bảo dưỡng, sửa chữa ô tô và xe có động cơ khác",
    "4610": "Đại lý, môi giới, đấu giá hàng hóa",
    "4632": "Bán buôn thực phẩm",
    "4641": "Bán buôn vải, hàng may mặc, giày dép",
    "4649": "Bán buôn đồ dùng khác cho gia đình",
    "4659": "Bán buôn máy móc, thiết bị và phụ tùng máy khác",
    "4662": "Bán buôn kim loại và quặng kim loại",
    "4663": "Bán buôn vật liệu, thiết bị lắp đặt khác trong xây dựng",
    "4669": "Bán buôn chuyên doanh khác chưa được phân vào đâu",
    "4933": "Vận tải hàng hóa bằng đường bộ",
    "5012": "Vận tải hàng hóa ven biển và viễn dương",
    "5022": "Vận tải hàng hóa đường thủy nội địa",
    "5210": "Kho bãi và lưu giữ hàng hóa",
    "5222": "Hoạt động dịch vụ hỗ trợ trực tiếp cho vận tải đường thủy",
    "5224": "Bốc xếp hàng hóa",
    "5229": "Hoạt động dịch vụ hỗ trợ khác liên quan đến vận tải",
    "5510": "Dịch vụ lưu trú ngắn ngày",
    "5610": "Nhà hàng và các dịch vụ ăn uống phục vụ lưu động",
    "6201": "Lập trình máy vi tính",
    "6202": "Tư vấn máy vi tính và quản trị hệ thống máy vi tính",
    "6810": "Kinh doanh bất động sản, quyền sử dụng đất thuộc chủ sở hữu, "
            "chủ sử dụng hoặc đi thuê",
    "7020": "Hoạt động tư vấn quản lý",
    "7110": "Hoạt động kiến trúc và tư vấn kỹ thuật có liên quan",
    "7310": "Quảng cáo",
    "8299": "Hoạt động dịch vụ hỗ trợ kinh doanh khác còn lại chưa được phân vào đâu",
}.items()}  # fmt: skip

# (word in the Vietnamese name, English word, main activities, side activities)
_SECTORS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("THƯƠNG MẠI", "TRADING", ("4610", "4632", "4649", "4669"), ("4659", "4641", "8299")),
    ("XÂY DỰNG", "CONSTRUCTION", ("4101", "4102", "4212", "4290"), ("4321", "4663", "7110")),
    ("VẬN TẢI", "TRANSPORT", ("4933", "5012", "5022"), ("5224", "5229", "5210")),
    ("LOGISTICS", "LOGISTICS", ("5210", "5229", "5224"), ("4933", "5222", "4610")),
    ("CÔNG NGHỆ", "TECHNOLOGY", ("6201", "6202"), ("4659", "7020", "7310")),
    ("ĐÓNG TÀU", "SHIPBUILDING", ("3011",), ("2511", "5222", "4659")),
    ("THỦY SẢN", "SEAFOOD", ("1020",), ("4632", "5210")),
    ("MAY MẶC", "GARMENT", ("1410", "1520"), ("4641", "2220")),
    ("DỊCH VỤ", "SERVICES", ("8299", "5610", "5510"), ("7310", "7020", "4520")),
    ("BẤT ĐỘNG SẢN", "REAL ESTATE", ("6810",), ("4101", "7110", "7020")),
)

_DISTINCT = tuple(_nfc(w) for w in (
    "Hải An", "Minh Phát", "Thành Đạt", "Hoàng Long", "Phú Thịnh", "Tân Cảng", "Đông Á",
    "Bạch Đằng", "Sao Mai", "Hưng Thịnh", "An Phát", "Việt Hải", "Trường Giang", "Hồng Hà",
    "Đại Dương", "Ánh Dương", "Kim Long", "Nam Triệu", "Đình Vũ", "Thiên Phú", "Vĩnh Phát",
    "Quang Minh", "Thuận Phong", "Hải Long", "Phương Đông", "Cát Bi", "Tiền Phong", "Lạc Long",
    "Bảo Anh", "Gia Huy", "Tràng An", "Hòa Bình", "Nhật Minh", "Duyên Hải", "Sông Cấm",
))  # fmt: skip

# (type name, name prefix, English suffix, abbreviation, weight)
_TYPES = (
    ("Công ty trách nhiệm hữu hạn một thành viên", "CÔNG TY TNHH", "COMPANY LIMITED",
     "CO., LTD", 40.0),
    ("Công ty trách nhiệm hữu hạn hai thành viên trở lên", "CÔNG TY TNHH", "COMPANY LIMITED",
     "CO., LTD", 20.0),
    ("Công ty cổ phần", "CÔNG TY CỔ PHẦN", "JOINT STOCK COMPANY", "JSC", 28.0),
    ("Doanh nghiệp tư nhân", "DOANH NGHIỆP TƯ NHÂN", "PRIVATE ENTERPRISE", "", 10.0),
    ("Công ty hợp danh", "CÔNG TY HỢP DANH", "PARTNERSHIP", "", 2.0),
)  # fmt: skip
_TYPE_PICK = Weighted.of([(str(i), t[4]) for i, t in enumerate(_TYPES)])
BRANCH_TYPE = _nfc("Chi nhánh")

STATUSES = Weighted.of([
    ("Đang hoạt động", 85.0),
    ("Tạm ngừng kinh doanh có thời hạn", 5.0),
    ("Không hoạt động tại địa chỉ đã đăng ký", 3.0),
    ("Đang làm thủ tục giải thể", 2.0),
    ("Đã giải thể", 5.0),
])  # fmt: skip
_CAPITAL = (500_000_000, 1_000_000_000, 2_000_000_000, 3_000_000_000, 5_000_000_000,
            10_000_000_000, 20_000_000_000, 50_000_000_000, 100_000_000_000)  # fmt: skip
_CAPITAL_WEIGHTS = (10, 22, 18, 12, 14, 10, 7, 5, 2)


def _ddmmyyyy(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _birth_ddmmyyyy(birth: str) -> str:
    return f"{birth[6:8]}/{birth[4:6]}/{birth[:4]}" if len(birth) == 8 else birth


class EnterpriseGenerator:
    """Draws enterprises; people come from the adults among ``citizens``."""

    def __init__(self, rng: random.Random, citizens: Sequence[Citizen]) -> None:
        self._rng = rng
        # Founders are adults whose full birth date is known, born 1945-2003.
        self._adults = [
            c for c in citizens if len(c.ngay_sinh) == 8 and "1945" <= c.ngay_sinh[:4] <= "2003"
        ] or list(citizens)
        self._sequences: set[int] = set()
        self._names: set[str] = set()

    def generate(self, count: int) -> list[Enterprise]:
        enterprises: list[Enterprise] = []
        branches: dict[str, int] = {}
        for n in range(count):
            heads = [e for e in enterprises[-50:] if "-" not in e.msdn]
            if heads and self._rng.random() < 0.1:
                parent = self._rng.choice(heads)
                branches[parent.msdn] = branches.get(parent.msdn, 0) + 1
                enterprises.append(self._branch(n, parent, branches[parent.msdn]))
            else:
                enterprises.append(self._head_office(n))
        return enterprises

    def _tax_code(self) -> str:
        while True:
            sequence = self._rng.randrange(100_000, 5_000_000)
            nine = f"02{sequence:07d}"
            digit = tax_check_digit(nine)
            if digit is not None and sequence not in self._sequences:
                self._sequences.add(sequence)
                return f"{nine}{digit}"

    def _head_office(self, n: int) -> Enterprise:
        rng = self._rng
        type_name, prefix, suffix, abbreviation, _ = _TYPES[int(_TYPE_PICK.draw(rng))]
        sector, english, main_codes, side_codes = rng.choice(_SECTORS)
        while True:
            distinct = rng.choice(_DISTINCT)
            if rng.random() < 0.5:
                distinct = f"{distinct} {rng.choice(_DISTINCT)}"
            name = _nfc(f"{prefix} {sector} {distinct.upper()}")
            if name not in self._names:
                self._names.add(name)
                break
        folded = ascii_fold(distinct).upper()
        people = rng.sample(self._adults, k=min(len(self._adults), rng.randint(2, 5)))
        # Everyone involved is an adult at founding, the youngest included.
        founded = self._founding_date(max(people, key=lambda c: c.ngay_sinh))
        capital = rng.choices(_CAPITAL, _CAPITAL_WEIGHTS)[0]
        members = self._members(type_name, people, capital)
        position = {"Công ty cổ phần": "Tổng giám đốc", "Doanh nghiệp tư nhân": "Chủ doanh nghiệp"}
        representatives = [self._representative(people[0], position.get(type_name, "Giám đốc"))]
        if type_name == "Công ty cổ phần" and len(people) > 1 and rng.random() < 0.4:
            representatives.append(self._representative(people[1], "Chủ tịch Hội đồng quản trị"))
        main = rng.choice(main_codes)
        side = rng.sample(side_codes, k=rng.randint(0, len(side_codes)))
        return self._finish(
            n, self._tax_code(), type_name, name,
            f"{folded} {abbreviation}".strip() if abbreviation else "",
            f"{folded} {english} {suffix}", founded, capital, (main, *side),
            members, representatives,
        )  # fmt: skip

    def _branch(self, n: int, parent: Enterprise, number: int) -> Enterprise:
        head = self._rng.choice(self._adults)
        founded = self._founding_date(
            head, not_before=dt.datetime.strptime(parent.founding_date, "%d/%m/%Y").date()
        )
        return self._finish(
            n, f"{parent.msdn}-{number:03d}", BRANCH_TYPE,
            _nfc(f"CHI NHÁNH SỐ {number} - {parent.name}"),
            f"{parent.short_name} - BRANCH {number}" if parent.short_name else "",
            f"BRANCH NO. {number} OF {parent.name_f}", founded, 0,
            tuple(a.code for a in parent.activities), [],
            [self._representative(head, "Người đứng đầu chi nhánh")],
        )  # fmt: skip

    def _finish(
        self, n: int, msdn: str, type_name: str, name: str, short_name: str, name_f: str,
        founded: dt.date, capital: int, codes: Sequence[str], members: list[Member],
        representatives: list[Representative],
    ) -> Enterprise:  # fmt: skip
        rng = self._rng
        changes = rng.choices((0, 1, 2, 3, 5, 8, 12), (30, 25, 15, 12, 9, 6, 3))[0]
        last_amend = ""
        if changes:
            span = (dt.date(2025, 12, 31) - founded).days
            last_amend = _ddmmyyyy(founded + dt.timedelta(days=rng.randint(1, max(span, 1))))
        district = rng.choice(HAI_PHONG.districts)
        ward = rng.choice(district.wards)
        if district.streets and ward.urban:
            street = f"Số {rng.randint(1, 400)} {rng.choice(district.streets)}"
        elif rng.random() < 0.5:
            street = f"Lô {rng.choice('ABCDE')}{rng.randint(1, 30)}, Khu công nghiệp"
        else:
            street = f"Thôn {rng.randint(1, 9)}"
        return Enterprise(
            msdn=msdn,
            enterprise_id=f"{n + 1_000_001}",
            type_name=_nfc(type_name),
            name=name,
            short_name=short_name,
            name_f=name_f,
            founding_date=_ddmmyyyy(founded),
            last_amend_date=last_amend,
            number_changes=changes,
            status_name=STATUSES.draw(rng),
            capital_amount=capital,
            street_number=_nfc(street),
            ward_code=ward.code,
            activities=tuple(Activity(c, VSIC[c], i == 0) for i, c in enumerate(codes)),
            members=tuple(members),
            representatives=tuple(representatives),
        )

    def _founding_date(self, founder: Citizen, not_before: dt.date | None = None) -> dt.date:
        # Founders are at least twenty; the register starts in 1995 here.
        earliest = max(dt.date(1995, 1, 1), dt.date(int(founder.ngay_sinh[:4]) + 20, 1, 1))
        if not_before is not None:
            earliest = max(earliest, not_before)
        span = (dt.date(2025, 12, 31) - earliest).days
        return earliest + dt.timedelta(days=self._rng.randint(0, max(span, 0)))

    def _members(self, type_name: str, people: list[Citizen], capital: int) -> list[Member]:
        if type_name == "Doanh nghiệp tư nhân":
            return []  # the owner is the representative; there are no members
        owners = people[:1] if type_name.endswith("một thành viên") else people
        weights = [self._rng.randint(1, 10) for _ in owners]
        shares = [capital * w // sum(weights) for w in weights]
        shares[0] += capital - sum(shares)
        return [
            Member(p.ho_va_ten, p.so_dinh_danh, share, round(share * 100 / capital, 2))
            for p, share in zip(owners, shares, strict=True)
        ]

    @staticmethod
    def _representative(person: Citizen, position: str) -> Representative:
        return Representative(
            person.ho_va_ten,
            person.so_dinh_danh,
            _nfc(position),
            _birth_ddmmyyyy(person.ngay_sinh),
            person.gioi_tinh,
        )
