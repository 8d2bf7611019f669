"""Vietnamese personal names and the coded attributes of a citizen record.

Frequencies are rough public figures (Nguyễn is about four in ten people);
they only need to make the data look like a Vietnamese city, not to be
statistics. Every string is normalised to NFC here so that the generator and
the mocks never have to think about it.
"""

from __future__ import annotations

import bisect
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass


def _nfc_words(text: str) -> tuple[str, ...]:
    return tuple(unicodedata.normalize("NFC", w.strip()) for w in text.split(",") if w.strip())


@dataclass(frozen=True, slots=True)
class Weighted:
    """Values drawn with given weights, fast (one random() and one bisect)."""

    values: tuple[str, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, pairs: Sequence[tuple[str, float]]) -> Weighted:
        total = 0.0
        cumulative = []
        for _, weight in pairs:
            total += weight
            cumulative.append(total)
        return cls(
            tuple(unicodedata.normalize("NFC", v) for v, _ in pairs),
            tuple(c / total for c in cumulative),
        )

    def draw(self, rng: random.Random) -> str:
        index = bisect.bisect_right(self.cumulative, rng.random())
        return self.values[min(index, len(self.values) - 1)]


SURNAMES = Weighted.of([
    ("Nguyễn", 38.4), ("Trần", 11.0), ("Lê", 9.5), ("Phạm", 7.1), ("Hoàng", 4.1),
    ("Huỳnh", 1.0), ("Phan", 4.5), ("Vũ", 3.9), ("Võ", 1.0), ("Đặng", 2.1),
    ("Bùi", 2.0), ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1.0),
    ("Lý", 0.5), ("Đào", 0.8), ("Đinh", 0.8), ("Lương", 0.5), ("Mai", 0.5),
    ("Trịnh", 0.5), ("Tô", 0.4), ("Cao", 0.4), ("Lâm", 0.3), ("Hà", 0.4),
    ("Tạ", 0.3), ("Vương", 0.2), ("Nghiêm", 0.1), ("Quách", 0.1),
])  # fmt: skip

MIDDLE_MALE = _nfc_words(
    "Văn, Văn, Văn, Đức, Minh, Quang, Hữu, Thành, Công, Xuân, Ngọc, Đình, Tuấn, "
    "Hoàng, Trọng, Mạnh, Gia, Việt, Huy, Anh, Bảo, Đăng, Tiến, Duy, Quốc"
)
MIDDLE_FEMALE = _nfc_words(
    "Thị, Thị, Thị, Thị, Ngọc, Thu, Thanh, Minh, Phương, Hồng, Thùy, Kim, Bảo, "
    "Khánh, Mai, Hải, Diệu, Hoài, Thảo, Quỳnh, Lan, Thị Thu, Thị Thanh, Thị Hồng"
)
GIVEN_MALE = _nfc_words(
    "An, Anh, Bình, Cường, Dũng, Đạt, Đức, Hải, Hiếu, Hoàng, Hùng, Huy, Khang, "
    "Khoa, Kiên, Long, Mạnh, Minh, Nam, Nghĩa, Phong, Phúc, Quân, Quang, Sơn, Tài, "
    "Thắng, Thành, Tiến, Toàn, Trung, Tuấn, Tùng, Việt, Vinh, Vũ, Lâm, Hưng, Khôi, "
    "Bảo, Đông, Hiệp, Lộc, Nhân, Thịnh, Trường, Tú, Duy, Hậu, Chiến"
)
GIVEN_FEMALE = _nfc_words(
    "Anh, Chi, Dung, Giang, Hà, Hạnh, Hằng, Hiền, Hoa, Hương, Huyền, Lan, Linh, "
    "Loan, Mai, My, Nga, Ngân, Ngọc, Nhung, Oanh, Phương, Quỳnh, Thảo, Thu, Thủy, "
    "Trang, Tuyết, Uyên, Vân, Yến, Hồng, Liên, Lý, Nhi, Thư, Trâm, Vy, Hậu, Duyên"
)

#: MaDanToc: 01 Kinh, 02 Tày, 03 Thái, 04 Hoa, 05 Khơ-me, 06 Mường, 07 Nùng.
ETHNIC_GROUPS = Weighted.of([
    ("01", 98.4), ("02", 0.3), ("03", 0.2), ("04", 0.6), ("05", 0.1), ("06", 0.2), ("07", 0.2),
])  # fmt: skip

#: MaTonGiao: 00 none, 01 Buddhism, 02 Catholicism, 03 Protestantism, 04 Caodaism.
RELIGIONS = Weighted.of([("00", 84.0), ("01", 9.0), ("02", 6.0), ("03", 0.7), ("04", 0.3)])

#: NhomMau (DOMAIN.md): 00 unknown, 01 A, 02 B, 03 AB, 04 O.
BLOOD_GROUPS = Weighted.of([("00", 12.0), ("01", 19.0), ("02", 27.0), ("03", 5.0), ("04", 37.0)])


@dataclass(frozen=True, slots=True)
class PersonName:
    ho: str
    chu_dem: str
    ten: str

    @property
    def full(self) -> str:
        return " ".join(part for part in (self.ho, self.chu_dem, self.ten) if part)


def draw_name(rng: random.Random, gender: int, surname: str | None = None) -> PersonName:
    """A name for a person of the given sex (1 male, 2 female).

    Children take their father's surname, hence ``surname``.
    """
    ho = surname if surname is not None else SURNAMES.draw(rng)
    if gender == 1:
        return PersonName(ho, rng.choice(MIDDLE_MALE), rng.choice(GIVEN_MALE))
    return PersonName(ho, rng.choice(MIDDLE_FEMALE), rng.choice(GIVEN_FEMALE))


def name_key(full_name: str) -> str:
    """The form names are compared in: NFC, case-folded, single spaces.

    Diacritics are kept: "Lan" and "Lân" are different names.
    """
    return " ".join(unicodedata.normalize("NFC", full_name).casefold().split())


def ascii_fold(text: str) -> str:
    """Vietnamese text without diacritics ("Hải Phòng" -> "Hai Phong")."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))
