"""The population service's answers, written as XML text.

Element names are the ones of the national population database (DOMAIN.md);
every element is in the service namespace (prefix ``dc``). Optional parts
are left out rather than sent empty: a citizen without a spouse has no
``VoChong``, a relative outside the database has no ``SoDinhDanh``.
"""

from __future__ import annotations

from collections.abc import Sequence

from mocks.records import Address, Citizen, Relation
from mocks.soap import element, group

#: KetQuaDoiChieu values: all three claims match; the ID exists but the name
#: and/or the date of birth differ; no citizen has this ID.
MATCH = "KHOP"
MISMATCH = "KHONG_KHOP"
UNKNOWN_ID = "KHONG_TON_TAI"


def _address(name: str, address: Address) -> str:
    return group(name, (
        element("ChiTiet", address.chi_tiet),
        element("MaTinhThanh", address.ma_tinh_thanh),
        element("MaQuanHuyen", address.ma_quan_huyen),
        element("MaPhuongXa", address.ma_phuong_xa),
        element("QuocGia", address.quoc_gia),
    ))  # fmt: skip


def _relation(name: str, relation: Relation | None) -> str:
    if relation is None:
        return ""
    return group(name, (
        element("HoVaTen", relation.ho_va_ten),
        element("SoDinhDanh", relation.so_dinh_danh),
        element("QuocTich", "VN"),
        element("QuanHe", relation.quan_he),
    ))  # fmt: skip


def _birth(value: str) -> str:
    inner = element("NgayThangNam", value) if len(value) == 8 else element("Nam", value)
    return group("NgayThangNamSinh", (inner,))


def citizen_element(c: Citizen) -> str:
    """``<dc:CongDan>`` with the whole record."""
    return group("CongDan", (
        element("SoDinhDanh", c.so_dinh_danh),
        element("SoCMND", c.so_cmnd),
        group("HoVaTen", (element("Ho", c.ho), element("ChuDem", c.chu_dem),
                          element("Ten", c.ten))),
        _birth(c.ngay_sinh),
        element("GioiTinh", c.gioi_tinh),
        element("QuocTich", c.quoc_tich),
        group("DanToc", (element("MaDanToc", c.dan_toc),)),
        group("TonGiao", (element("MaTonGiao", c.ton_giao),)),
        element("NhomMau", c.nhom_mau),
        element("TinhTrangHonNhan", c.tinh_trang_hon_nhan),
        _address("QueQuan", c.que_quan),
        _address("NoiDangKyKhaiSinh", c.noi_dang_ky_khai_sinh),
        _address("ThuongTru", c.thuong_tru),
        _address("NoiOHienTai", c.noi_o_hien_tai),
        _relation("Cha", c.cha),
        _relation("Me", c.me),
        _relation("VoChong", c.vo_chong),
        _relation("ChuHo", c.chu_ho),
    ))  # fmt: skip


def lookup_response(
    request_id: str, outcome: str, mismatched: Sequence[str] = (), record: str = ""
) -> str:
    """``<dc:TraCuuThongTinCongDanResponse>``; ``record`` only on a match."""
    parts = [element("MaYeuCau", request_id), element("KetQuaDoiChieu", outcome)]
    if mismatched:
        parts.append(group("TruongKhongKhop", (element("Truong", f) for f in mismatched)))
    parts.append(group("DanhSachCongDan", (record,)))
    return group("TraCuuThongTinCongDanResponse", parts)
