"""Administrative units the synthetic data lives in.

Codes are shaped like the General Statistics Office's: province 2 digits,
district 3, ward/commune 5. Hải Phòng (31) is the home province and is the
most detailed; a few other provinces appear as places of birth registration
(Hà Nội 01, TP Hồ Chí Minh 79) and home towns. District codes of Hải Phòng
follow the real list; ward codes are allocated in the real range, in steps of
three as the office does, so they look right without claiming to be exact.
The units are those before the 2025 reorganisation, which is what DOMAIN.md
describes (three levels, with districts).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Ward:
    code: str
    name: str
    urban: bool


@dataclass(frozen=True, slots=True)
class District:
    code: str
    name: str
    wards: tuple[Ward, ...]
    streets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Province:
    code: str
    name: str
    districts: tuple[District, ...]


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _district(code: str, name: str, first_ward: int, wards: str, streets: str = "") -> District:
    # Wards are given as "Phường A; Xã B; ..." and numbered from first_ward.
    units = tuple(
        Ward(f"{first_ward + 3 * i:05d}", _nfc(w.strip()), not w.strip().startswith("Xã"))
        for i, w in enumerate(wards.split(";"))
    )
    return District(
        code, _nfc(name), units, tuple(_nfc(s.strip()) for s in streets.split(";") if s.strip())
    )


HAI_PHONG = Province(
    "31",
    _nfc("Thành phố Hải Phòng"),
    (
        _district("303", "Quận Hồng Bàng", 11296,
                  "Phường Quán Toan; Phường Hùng Vương; Phường Sở Dầu; Phường Thượng Lý; "
                  "Phường Hạ Lý; Phường Minh Khai; Phường Hoàng Văn Thụ; Phường Phan Bội Châu",
                  "Hoàng Văn Thụ; Điện Biên Phủ; Hùng Vương; Bạch Đằng; Tam Bạc; Quang Trung"),
        _district("304", "Quận Ngô Quyền", 11329,
                  "Phường Máy Chai; Phường Vạn Mỹ; Phường Cầu Tre; Phường Lạc Viên; "
                  "Phường Gia Viên; Phường Đông Khê; Phường Cầu Đất; Phường Lê Lợi; "
                  "Phường Đằng Giang; Phường Lạch Tray",
                  "Lạch Tray; Lê Lợi; Văn Cao; Đà Nẵng; Lê Lai; Cầu Đất; Lương Khánh Thiện"),
        _district("305", "Quận Lê Chân", 11368,
                  "Phường Cát Dài; Phường An Biên; Phường Lam Sơn; Phường Trần Nguyên Hãn; "
                  "Phường Hồ Nam; Phường Dư Hàng; Phường Hàng Kênh; Phường Đông Hải; "
                  "Phường Niệm Nghĩa; Phường Nghĩa Xá; Phường Kênh Dương; Phường Vĩnh Niệm",
                  "Trần Nguyên Hãn; Tô Hiệu; Hồ Sen; Nguyễn Văn Linh; Chợ Hàng; Thiên Lôi"),
        _district("306", "Quận Hải An", 11413,
                  "Phường Đông Hải 1; Phường Đông Hải 2; Phường Đằng Lâm; Phường Thành Tô; "
                  "Phường Đằng Hải; Phường Nam Hải; Phường Cát Bi; Phường Tràng Cát",
                  "Lê Hồng Phong; Ngô Gia Tự; Đình Vũ; Lũng Đông; Cát Bi"),
        _district("307", "Quận Kiến An", 11437,
                  "Phường Quán Trữ; Phường Lãm Hà; Phường Đồng Hoà; Phường Bắc Sơn; "
                  "Phường Nam Sơn; Phường Ngọc Sơn; Phường Trần Thành Ngọ; Phường Văn Đẩu; "
                  "Phường Phù Liễn; Phường Tràng Minh",
                  "Trần Thành Ngọ; Phan Đăng Lưu; Trường Chinh; Quán Trữ"),
        _district("308", "Quận Đồ Sơn", 11476,
                  "Phường Ngọc Xuyên; Phường Hải Sơn; Phường Vạn Hương; Phường Minh Đức; "
                  "Phường Bàng La; Phường Hợp Đức",
                  "Lý Thánh Tông; Nguyễn Hữu Cầu; Vạn Hoa"),
        _district("309", "Quận Dương Kinh", 11497,
                  "Phường Đa Phúc; Phường Hưng Đạo; Phường Anh Dũng; Phường Hải Thành; "
                  "Phường Hoà Nghĩa; Phường Tân Thành",
                  "Mạc Đăng Doanh; Phạm Văn Đồng; Tân Thành"),
        _district("311", "Huyện Thủy Nguyên", 11515,
                  "Thị trấn Núi Đèo; Xã Thủy Sơn; Xã Lập Lễ; Xã Tam Hưng; Xã Kênh Giang; "
                  "Xã Lưu Kiếm; Xã Hoà Bình; Xã Thiên Hương"),
        _district("312", "Huyện An Dương", 11563,
                  "Thị trấn An Dương; Xã Lê Thiện; Xã Đại Bản; Xã An Hoà; Xã Hồng Phong; "
                  "Xã Tân Tiến; Xã Nam Sơn"),
        _district("313", "Huyện An Lão", 11605,
                  "Thị trấn An Lão; Thị trấn Trường Sơn; Xã Bát Trang; Xã Trường Thọ; "
                  "Xã Quang Hưng; Xã An Thắng"),
        _district("314", "Huyện Kiến Thuỵ", 11650,
                  "Thị trấn Núi Đối; Xã Đông Phương; Xã Thuận Thiên; Xã Hữu Bằng; "
                  "Xã Đại Đồng; Xã Ngũ Phúc"),
        _district("315", "Huyện Tiên Lãng", 11689,
                  "Thị trấn Tiên Lãng; Xã Đại Thắng; Xã Tiên Cường; Xã Tự Cường; "
                  "Xã Quyết Tiến; Xã Khởi Nghĩa"),
        _district("316", "Huyện Vĩnh Bảo", 11737,
                  "Thị trấn Vĩnh Bảo; Xã Dũng Tiến; Xã Giang Biên; Xã Thắng Thuỷ; "
                  "Xã Trung Lập; Xã Việt Tiến"),
        _district("317", "Huyện Cát Hải", 11779,
                  "Thị trấn Cát Bà; Thị trấn Cát Hải; Xã Nghĩa Lộ; Xã Đồng Bài; "
                  "Xã Hoàng Châu; Xã Văn Phong"),
    ),
)  # fmt: skip

HA_NOI = Province(
    "01",
    _nfc("Thành phố Hà Nội"),
    (
        _district("001", "Quận Ba Đình", 1,
                  "Phường Phúc Xá; Phường Trúc Bạch; Phường Vĩnh Phúc; Phường Cống Vị",
                  "Hoàng Hoa Thám; Đội Cấn; Kim Mã; Liễu Giai"),
        _district("002", "Quận Hoàn Kiếm", 37,
                  "Phường Phúc Tân; Phường Đồng Xuân; Phường Hàng Mã; Phường Hàng Buồm",
                  "Hàng Bạc; Hàng Đào; Lý Thái Tổ; Tràng Tiền"),
    ),
)  # fmt: skip

HO_CHI_MINH = Province(
    "79",
    _nfc("Thành phố Hồ Chí Minh"),
    (
        _district("760", "Quận 1", 26734,
                  "Phường Tân Định; Phường Đa Kao; Phường Bến Nghé; Phường Bến Thành",
                  "Lê Lợi; Nguyễn Huệ; Hai Bà Trưng; Pasteur"),
        _district("769", "Thành phố Thủ Đức", 26800,
                  "Phường Thảo Điền; Phường An Phú; Phường Linh Trung; Phường Hiệp Phú",
                  "Võ Văn Ngân; Xa Lộ Hà Nội; Quốc Hương"),
    ),
)  # fmt: skip

# Home towns of Hải Phòng families are often in the neighbouring provinces.
HOME_TOWN_PROVINCES = (
    Province("30", _nfc("Tỉnh Hải Dương"), (
        _district("290", "Huyện Kinh Môn", 10600, "Xã Hiệp Hoà; Xã Lê Ninh; Xã Phúc Thành"),
        _district("292", "Huyện Thanh Hà", 10690, "Xã Thanh An; Xã Tân Việt; Xã Hồng Lạc"),
    )),
    Province("34", _nfc("Tỉnh Thái Bình"), (
        _district("338", "Huyện Quỳnh Phụ", 12460, "Xã An Khê; Xã Quỳnh Hoa; Xã An Vinh"),
        _district("341", "Huyện Thái Thụy", 12580, "Xã Thụy Hải; Xã Thái Thượng; Xã Thụy Liên"),
    )),
    Province("36", _nfc("Tỉnh Nam Định"), (
        _district("358", "Huyện Giao Thủy", 13690, "Xã Giao Thiện; Xã Giao Hải; Xã Bạch Long"),
    )),
    Province("22", _nfc("Tỉnh Quảng Ninh"), (
        _district("205", "Thị xã Quảng Yên", 7120, "Phường Cộng Hoà; Phường Yên Giang; Xã Tiền An"),
    )),
)  # fmt: skip

PROVINCES: dict[str, Province] = {
    p.code: p for p in (HAI_PHONG, HA_NOI, HO_CHI_MINH, *HOME_TOWN_PROVINCES)
}

#: The personal-ID province prefix (3 digits) for each province code here.
PERSONAL_ID_PREFIX = {code: f"0{code}" for code in PROVINCES}

_WARDS: dict[str, tuple[Province, District, Ward]] = {
    w.code: (p, d, w) for p in PROVINCES.values() for d in p.districts for w in d.wards
}


def locate(ward_code: str) -> tuple[Province, District, Ward]:
    """The province, district and ward a ward code belongs to."""
    return _WARDS[ward_code]


def full_address(detail: str, ward_code: str) -> str:
    """The one-line address a registry prints: detail, ward, district, province."""
    province, district, ward = _WARDS[ward_code]
    parts = [detail] if detail else []
    parts += [ward.name, district.name, province.name]
    return ", ".join(parts)
