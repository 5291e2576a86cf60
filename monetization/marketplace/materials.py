"""Course materials: uploads streamed through the storage port, with size and type limits,
readable by buyers and the owner (the access policy decides who asks).

An upload is checked before a byte is stored (the course, the type, the name, the count),
while it streams (the size: past ``material_max_bytes`` it stops at once) and at its end (the
bytes must look like the type claimed: a "PDF" starts with ``%PDF-``, text is UTF-8 without
NUL...). Only then is the file committed under its SHA-256 and the row written.
"""

from __future__ import annotations

import codecs
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import Engine, func, insert, select, update

from monetization.ids import UUID_RE
from monetization.marketplace.config import MarketplaceConfig
from monetization.marketplace.errors import (
    CourseNotFound,
    InvalidCourse,
    MaterialTooLarge,
    UnsupportedMaterial,
)
from monetization.marketplace.model import Course, Material
from monetization.marketplace.storage import BlobStore, BlobWriter
from monetization.marketplace.store import begin_write, material_from_row
from monetization.marketplace.tables import market_courses, market_materials
from monetization.marketplace.text import check_text

M = market_materials
HEAD_BYTES = 16
FILENAME_MAX_CHARS = 255
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04",),
    "application/epub+zip": (b"PK\x03\x04",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "video/webm": (b"\x1a\x45\xdf\xa3",),
    "audio/mpeg": (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"),
}


def check_material_id(material_id: object) -> str:
    if not isinstance(material_id, str) or not UUID_RE.fullmatch(material_id):
        raise CourseNotFound("no such material")
    return material_id


def media_type(declared: str | None) -> str:
    """``text/plain; charset=utf-8`` -> ``text/plain``."""
    return (declared or "").split(";", 1)[0].strip().lower()


def clean_filename(name: object) -> str:
    """The last path segment of ``name``, storable and non-empty."""
    try:
        text = check_text(name, "filename", 4 * FILENAME_MAX_CHARS, min_chars=1)
    except InvalidCourse as error:
        raise UnsupportedMaterial(error.detail) from None
    base = text.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if base in ("", ".", "..") or len(base) > FILENAME_MAX_CHARS:
        raise UnsupportedMaterial(f"a filename has 1-{FILENAME_MAX_CHARS} characters")
    return base


def looks_like(content_type: str, head: bytes) -> bool:
    if content_type == "video/mp4":
        return len(head) >= 8 and head[4:8] == b"ftyp"
    signatures = SIGNATURES.get(content_type)
    return signatures is None or head.startswith(signatures)


class MaterialUpload:
    """One file on its way in: :meth:`write` each chunk, then :meth:`finish` or
    :meth:`abort` (always one of the two)."""

    def __init__(
        self, materials: Materials, course: Course, filename: str, content_type: str
    ) -> None:
        self._materials = materials
        self._course = course
        self._filename = filename
        self._type = content_type
        self._writer: BlobWriter = materials.store.writer()
        self._head = b""
        self._size = 0
        self._text = codecs.getincrementaldecoder("utf-8")() if content_type in TEXT_TYPES else None

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._materials.config.material_max_bytes:
            self.abort()
            raise MaterialTooLarge(
                f"a material is at most {self._materials.config.material_max_bytes} bytes"
            )
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        if self._text is not None:
            self._check_text(chunk, final=False)
        self._writer.write(chunk)

    def _check_text(self, chunk: bytes, *, final: bool) -> None:
        assert self._text is not None
        try:
            decoded = self._text.decode(chunk, final=final)
        except UnicodeDecodeError:
            self.abort()
            raise UnsupportedMaterial(f"a {self._type} file must be UTF-8 text") from None
        if "\x00" in decoded:
            self.abort()
            raise UnsupportedMaterial(f"a {self._type} file holds no NUL character")

    def finish(self) -> Material:
        if self._size == 0:
            self.abort()
            raise UnsupportedMaterial("the file is empty")
        if self._text is not None:
            self._check_text(b"", final=True)
        if not looks_like(self._type, self._head):
            self.abort()
            raise UnsupportedMaterial(f"the file's bytes are not those of a {self._type} file")
        sha256, size = self._writer.commit()
        return self._materials.record(self._course, self._filename, self._type, sha256, size)

    def abort(self) -> None:
        self._writer.abort()


class Materials:
    def __init__(
        self,
        engine: Engine,
        store: BlobStore,
        config: MarketplaceConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.store = store
        self.config = config
        self.clock = clock

    def begin(self, course: Course, filename: object, declared_type: str | None) -> MaterialUpload:
        """Check what can be checked before any byte is stored, then start the upload."""
        content_type = media_type(declared_type)
        if content_type not in self.config.material_types:
            raise UnsupportedMaterial(f"allowed types: {', '.join(self.config.material_types)}")
        name = clean_filename(filename)
        if course.material_count >= self.config.materials_per_course_max:
            raise InvalidCourse(
                f"a course holds at most {self.config.materials_per_course_max} materials"
            )
        return MaterialUpload(self, course, name, content_type)

    def record(
        self, course: Course, filename: str, content_type: str, sha256: str, size: int
    ) -> Material:
        material_id = str(uuid.uuid4())
        with begin_write(self.engine) as conn:
            conn.execute(
                insert(M).values(
                    id=material_id,
                    course_id=course.id,
                    sha256=sha256,
                    filename=filename,
                    content_type=content_type,
                    size_bytes=size,
                    created_at=self.clock(),
                )
            )
            conn.execute(
                update(market_courses)
                .where(market_courses.c.id == course.id)
                .values(material_count=market_courses.c.material_count + 1)
            )
        return self.get(course.id, material_id)

    def list(self, course_id: str) -> list[Material]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(M)
                .where(M.c.course_id == course_id)
                .order_by(M.c.created_at, M.c.id)
                .limit(self.config.materials_per_course_max)
            )
            return [material_from_row(r) for r in rows]

    def get(self, course_id: str, material_id: str) -> Material:
        check_material_id(material_id)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(M).where(M.c.id == material_id, M.c.course_id == course_id)
            ).first()
        if row is None:
            raise CourseNotFound(f"material {material_id} does not exist")
        return material_from_row(row)

    def open(self, material: Material) -> BinaryIO:
        return self.store.open(material.sha256)

    def total_bytes(self, course_id: str) -> int:
        with self.engine.connect() as conn:
            total = conn.execute(
                select(func.coalesce(func.sum(M.c.size_bytes), 0)).where(M.c.course_id == course_id)
            ).scalar_one()
        return int(total)
