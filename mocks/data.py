"""The synthetic data set: build it once, cache it, read it.

``ensure_dataset(settings)`` returns the path of a SQLite file whose name
encodes the generator version, the seed and the sizes, building it first if
it is missing. The file is written under a temporary name and renamed into
place, so a reader (or a second mock starting at the same moment) never sees
half a data set; a finished file is never modified again, which is why
readers open it immutable.

``Dataset(path)`` is the read API used by the mocks, the tests and the lead's
tooling. ``python -m mocks.data --examples`` prints one valid example per
system (stable for a given seed and size) for the README's curl commands.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import secrets
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
import structlog

from mocks import storage
from mocks.companies import EnterpriseGenerator
from mocks.coverage import CoverageGenerator
from mocks.logs import configure_logging
from mocks.names import name_key
from mocks.people import CitizenGenerator
from mocks.records import Citizen, Enterprise, InsuredPerson, Spell
from mocks.settings import DataSettings

#: Bump whenever the generator's output changes, so that cached files built
#: by an older generator are not reused.
GENERATOR_VERSION = 2

log = structlog.get_logger("mocks.data")


def dataset_path(settings: DataSettings) -> Path:
    """Where the data set for these settings lives (it may not exist yet)."""
    name = (
        f"mockdata-v{GENERATOR_VERSION}-seed{settings.seed}-c{settings.citizens}"
        f"-e{settings.enterprises}-i{settings.insured}.sqlite3"
    )
    return settings.data_dir / name


def ensure_dataset(settings: DataSettings) -> Path:
    """The path of the data set for ``settings``, built if it is not cached."""
    path = dataset_path(settings)
    if path.exists():
        return path
    started = time.perf_counter()
    build_dataset(path, settings.seed, settings.citizens, settings.enterprises, settings.insured)
    log.info("mocks.dataset_built", path=str(path), seconds=round(time.perf_counter() - started, 2))
    return path


def build_dataset(path: Path, seed: int, citizens: int, enterprises: int, insured: int) -> None:
    """Generate the data set and move it to ``path`` atomically."""
    if insured > citizens:
        msg = "every insured person is a citizen: insured cannot exceed citizens"
        raise ValueError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One stream per system, derived from the seed, so that changing the size
    # of one system does not reshuffle the people of another.
    rng = random.Random(seed)
    people = CitizenGenerator(random.Random(rng.getrandbits(64))).generate(citizens)
    companies = EnterpriseGenerator(random.Random(rng.getrandbits(64)), people).generate(
        enterprises
    )
    coverage = CoverageGenerator(random.Random(rng.getrandbits(64)), people, companies).generate(
        insured
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        db = sqlite3.connect(temporary)
        try:
            # A crash mid-build leaves only a temporary file behind, so the
            # journal would buy nothing.
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            db.executescript(storage.TABLES)
            db.executemany(
                storage.insert("citizens", 22),
                (storage.citizen_row(n, c) for n, c in enumerate(people)),
            )
            db.executemany(
                storage.insert("enterprises", 17),
                (storage.enterprise_row(n, e) for n, e in enumerate(companies)),
            )
            db.executemany(
                storage.insert("insured", 19),
                (storage.insured_row(n, p) for n, p in enumerate(coverage.people)),
            )
            db.executemany(storage.insert("spells", 7), storage.spell_rows(coverage.spells))
            db.executescript(storage.INDEXES)
            meta = {
                "generator_version": str(GENERATOR_VERSION),
                "seed": str(seed),
                "examples": orjson.dumps(_pick_examples(db)).decode(),
            }
            db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            db.commit()
        finally:
            db.close()
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _pick_examples(db: sqlite3.Connection) -> dict[str, Any]:
    """One record per system that shows the happy path well, chosen by rules
    that depend only on the data (so the same seed gives the same examples)."""
    examples: dict[str, Any] = {}
    row = (
        db.execute(
            f"SELECT {storage.CITIZEN_COLUMNS} FROM citizens WHERE length(ngay_sinh) = 8 "  # noqa: S608 -- fixed columns
            "AND json_extract(cha, '$[1]') IS NOT NULL AND json_extract(me, '$[1]') IS NOT NULL "
            "ORDER BY n LIMIT 1"
        ).fetchone()
        or db.execute(
            f"SELECT {storage.CITIZEN_COLUMNS} FROM citizens ORDER BY n LIMIT 1"  # noqa: S608 -- fixed columns
        ).fetchone()
    )
    citizen = storage.citizen_from(row)
    examples["population"] = {
        "SoDinhDanh": citizen.so_dinh_danh,
        "HoVaTen": citizen.ho_va_ten,
        "NgayThangNamSinh": citizen.ngay_sinh,
    }
    row = (
        db.execute(
            "SELECT msdn FROM enterprises WHERE status_name = 'Đang hoạt động' "
            "AND instr(msdn, '-') = 0 AND json_array_length(activities) > 1 ORDER BY n LIMIT 1"
        ).fetchone()
        or db.execute("SELECT msdn FROM enterprises ORDER BY n LIMIT 1").fetchone()
    )
    if row is not None:
        examples["business"] = {"msdn": row[0]}
    row = (
        db.execute(
            f"SELECT {storage.INSURED_COLUMNS} FROM insured i WHERE trang_thai = '1' "  # noqa: S608 -- fixed columns
            "AND loai_ngay_sinh = 0 AND den_ngay_dt >= '20261231' "
            "AND EXISTS (SELECT 1 FROM spells s WHERE s.ma_so_bhxh = i.ma_so_bhxh "
            "AND s.den_thang = '' AND s.loai_dong = 'BB') ORDER BY n LIMIT 1"
        ).fetchone()
        or db.execute(
            f"SELECT {storage.INSURED_COLUMNS} FROM insured ORDER BY n LIMIT 1"  # noqa: S608 -- fixed columns
        ).fetchone()
    )
    if row is not None:
        person = storage.insured_from(row)
        examples["insurance"] = {
            "maSoBhxh": person.ma_so_bhxh,
            "maThe": person.ma_the,
            "hoTen": person.ho_ten,
            "ngaySinh": person.ngay_sinh,
            "gioiTinh": person.gioi_tinh,
            "maTinhKs": person.ma_tinh_ks,
            "tuThang": "202501",
            "denThang": "202512",
            "ngayKiemTra": "20260601",
        }
    return examples


class Dataset:
    """Read access to a built data set. Cheap lookups by key or by ordinal.

    One connection, opened read-only and immutable: the file never changes
    once built, so SQLite may skip locking entirely. ``n`` is a 0-based
    ordinal within each system (``citizen(0)`` is the first citizen).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def counts(self) -> dict[str, int]:
        return {
            table: self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 -- fixed table names
            for table in ("citizens", "enterprises", "insured")
        }

    def examples(self) -> dict[str, Any]:
        """One valid request per system; see ``_pick_examples``."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'examples'").fetchone()
        result: dict[str, Any] = orjson.loads(row[0])
        return result

    # -- population -----------------------------------------------------------

    def citizen(self, n: int) -> Citizen:
        return storage.citizen_from(self._one("citizens", storage.CITIZEN_COLUMNS, "n", n))

    def citizens(self) -> Iterator[Citizen]:
        """Every citizen, in ordinal order (for a mock that derives its own records)."""
        cursor = self._db.execute(
            f"SELECT {storage.CITIZEN_COLUMNS} FROM citizens ORDER BY n"  # noqa: S608 -- fixed columns
        )
        for row in cursor:
            yield storage.citizen_from(row)

    def citizen_by_id(self, so_dinh_danh: str) -> Citizen | None:
        row = self._find("citizens", storage.CITIZEN_COLUMNS, "so_dinh_danh", so_dinh_danh)
        return None if row is None else storage.citizen_from(row)

    # -- business ---------------------------------------------------------------

    def enterprise(self, n: int) -> Enterprise:
        return storage.enterprise_from(self._one("enterprises", storage.ENTERPRISE_COLUMNS, "n", n))

    def enterprise_by_msdn(self, msdn: str) -> Enterprise | None:
        row = self._find("enterprises", storage.ENTERPRISE_COLUMNS, "msdn", msdn)
        return None if row is None else storage.enterprise_from(row)

    # -- insurance --------------------------------------------------------------

    def insured(self, n: int) -> InsuredPerson:
        return storage.insured_from(self._one("insured", storage.INSURED_COLUMNS, "n", n))

    def insured_by_code(self, ma_so_bhxh: str) -> InsuredPerson | None:
        row = self._find("insured", storage.INSURED_COLUMNS, "ma_so_bhxh", ma_so_bhxh)
        return None if row is None else storage.insured_from(row)

    def insured_by_card(self, ma_the: str) -> InsuredPerson | None:
        row = self._find("insured", storage.INSURED_COLUMNS, "ma_the", ma_the)
        return None if row is None else storage.insured_from(row)

    def insured_by_personal_id(self, so_dinh_danh: str) -> InsuredPerson | None:
        row = self._find("insured", storage.INSURED_COLUMNS, "so_dinh_danh", so_dinh_danh)
        return None if row is None else storage.insured_from(row)

    def insured_named(self, ho_ten: str) -> list[InsuredPerson]:
        """Everyone insured under this name (compared as ``names.name_key``)."""
        rows = self._db.execute(
            f"SELECT {storage.INSURED_COLUMNS} FROM insured WHERE ho_ten_key = ? ORDER BY n",  # noqa: S608 -- fixed column list
            (name_key(ho_ten),),
        ).fetchall()
        return [storage.insured_from(r) for r in rows]

    def household(self, ma_ho: int) -> list[InsuredPerson]:
        """The insured members of a household, head first."""
        rows = self._db.execute(
            f"SELECT {storage.INSURED_COLUMNS} FROM insured WHERE ma_ho = ? ORDER BY n",  # noqa: S608 -- fixed column list
            (ma_ho,),
        ).fetchall()
        return [storage.insured_from(r) for r in rows]

    def spells(self, ma_so_bhxh: str) -> list[Spell]:
        rows = self._db.execute(
            f"SELECT {storage.SPELL_COLUMNS} FROM spells WHERE ma_so_bhxh = ? ORDER BY tu_thang",  # noqa: S608 -- fixed column list
            (ma_so_bhxh,),
        ).fetchall()
        return [storage.spell_from(r) for r in rows]

    # -- plumbing ---------------------------------------------------------------

    def _find(self, table: str, columns: str, key: str, value: object) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._db.execute(
            f"SELECT {columns} FROM {table} WHERE {key} = ?",  # noqa: S608 -- identifiers are ours
            (value,),
        ).fetchone()
        return row

    def _one(self, table: str, columns: str, key: str, value: object) -> tuple[Any, ...]:
        row = self._find(table, columns, key, value)
        if row is None:
            msg = f"no {table} row with {key} = {value!r}"
            raise IndexError(msg)
        return row


def main(argv: list[str] | None = None) -> int:
    """``python -m mocks.data [--examples]``: build (or find) the data set."""
    parser = argparse.ArgumentParser(prog="python -m mocks.data", description=__doc__)
    parser.add_argument(
        "--examples", action="store_true", help="print one valid example per system as JSON"
    )
    args = parser.parse_args(argv)
    configure_logging()
    settings = DataSettings()
    started = time.perf_counter()
    path = ensure_dataset(settings)
    elapsed = time.perf_counter() - started
    if args.examples:
        with Dataset(path) as dataset:
            examples = dataset.examples()
        sys.stdout.write(orjson.dumps(examples, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(f"{path}\n")
        sys.stderr.write(f"ready in {elapsed:.2f} s\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
