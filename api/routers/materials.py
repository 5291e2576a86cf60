"""``/v1/courses/{id}/materials``: upload (the owner; multipart field ``file``, streamed to
the storage port as it arrives), list and download (buyers with access, the owner, admins).

The body is parsed as a stream (python-multipart's push parser): at most one chunk is in
memory, the file's bytes go to the store while they arrive, and the size limit stops an
upload at the first byte past it (413), whatever the client declared.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from api import policy
from api.deps import CurrentPrincipal
from api.errors import ApiProblem
from api.ids import CoursePath, MaterialPath
from api.routers.marketdeps import MarketDep
from api.schemas.common import PROTECTED, problems
from api.schemas.marketplace import MaterialList, MaterialPublic
from api.security import Principal
from monetization.marketplace import Course, Marketplace, Material, MaterialUpload

router = APIRouter(
    prefix="/v1/courses/{course_id}/materials", tags=["marketplace"], responses=PROTECTED
)

UPLOAD_PATH = re.compile(r"/v1/courses/[^/]+/materials/?")
UPLOAD_OVERHEAD_BYTES = 64 * 1024  # multipart boundaries and part headers
HEADER_MAX_BYTES = 4096
DOWNLOAD_CHUNK_BYTES = 256 * 1024
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        }
    },
}


class FilePart:
    """Collects the one ``file`` part of a multipart body as the parser pushes it."""

    def __init__(self, begin: Any) -> None:
        self._begin = begin  # (filename, content type) -> MaterialUpload
        self.upload: MaterialUpload | None = None
        self.chunks: list[bytes] = []
        self.done = False
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._in_file = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._add("_field", d[s:e]),
            "on_header_value": lambda d, s, e: self._add("_value", d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._part_end,
        }

    def _add(self, name: str, data: bytes) -> None:
        value = getattr(self, name) + data
        if len(value) > HEADER_MAX_BYTES:
            raise ApiProblem("bad-request", "a multipart header is too long")
        setattr(self, name, value)

    def _part_begin(self) -> None:
        self._headers, self._in_file = {}, False

    def _header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if options.get(b"name") != b"file":
            return  # other fields are read and ignored
        if self.upload is not None or self.done:
            raise ApiProblem("invalid-request", "send one file per request")
        filename = options.get(b"filename", b"").decode("utf-8", "replace")
        declared = self._headers.get(b"content-type", b"").decode("latin-1")
        self.upload = self._begin(filename, declared)
        self._in_file = True

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.chunks.append(bytes(data[start:end]))

    def _part_end(self) -> None:
        if self._in_file:
            self._in_file, self.done = False, True


def _boundary(request: Request) -> bytes:
    media, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if media != b"multipart/form-data" or not boundary:
        raise ApiProblem("unsupported-media-type", "send multipart/form-data with a file field")
    return boundary


async def _receive(request: Request, part: FilePart, limit: int) -> None:
    parser = MultipartParser(_boundary(request), part.callbacks())  # type: ignore[arg-type]
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiProblem("payload-too-large", f"an upload is at most {limit} bytes")
        try:
            parser.write(chunk)
        except MultipartParseError:
            raise ApiProblem("bad-request", "the multipart body is malformed") from None
        if part.upload is not None and part.chunks:
            pieces, part.chunks = part.chunks, []
            await run_in_threadpool(_write_all, part.upload, pieces)
    parser.finalize()
    if part.upload is None or not part.done:
        raise ApiProblem("invalid-request", "the multipart body has no complete `file` part")


def _write_all(upload: MaterialUpload, pieces: list[bytes]) -> None:
    for piece in pieces:
        upload.write(piece)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MaterialPublic,
    responses=problems(404, 413, 415),
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def upload_material(
    course_id: CoursePath, request: Request, market: MarketDep, principal: CurrentPrincipal
) -> MaterialPublic:
    """Add a file to the course (the owner or an admin): multipart field `file` with its
    content type (PDF, EPUB, ZIP, MP3, JPEG, PNG, Markdown, plain text, MP4, WebM), at
    most the configured size (413). Its bytes must match the type (415). Stored by SHA-256."""
    course: Course = await run_in_threadpool(market.courses.get, course_id)
    policy.require_course_owner(principal, course.instructor_id)
    part = FilePart(lambda name, declared: market.materials.begin(course, name, declared))
    limit = market.materials.config.material_max_bytes + UPLOAD_OVERHEAD_BYTES
    try:
        await _receive(request, part, limit)
    except BaseException:
        if part.upload is not None:
            part.upload.abort()
        raise
    assert part.upload is not None
    material = await run_in_threadpool(part.upload.finish)
    return MaterialPublic.build(material)


def _reader(market: Marketplace, principal: Principal, course: Course) -> None:
    policy.require_material_reader(
        principal, course.instructor_id, lambda user: market.purchases.has_access(user, course)
    )


@router.get("", responses=problems(404))
def list_materials(
    course_id: CoursePath, market: MarketDep, principal: CurrentPrincipal
) -> MaterialList:
    """The course's files (for buyers with access, the owner, admins)."""
    course = market.courses.get(course_id)
    _reader(market, principal, course)
    return MaterialList(data=[MaterialPublic.build(m) for m in market.materials.list(course_id)])


def _chunks(market: Marketplace, material: Material) -> Iterator[bytes]:
    with market.materials.open(material) as stream:
        while chunk := stream.read(DOWNLOAD_CHUNK_BYTES):
            yield chunk


@router.get(
    "/{material_id}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, **problems(404)},
)
def download_material(
    course_id: CoursePath,
    material_id: MaterialPath,
    market: MarketDep,
    principal: CurrentPrincipal,
) -> StreamingResponse:
    """The file's bytes (for buyers with access, the owner, admins)."""
    course = market.courses.get(course_id)
    _reader(market, principal, course)
    material = market.materials.get(course_id, material_id)
    headers = {
        "Content-Length": str(material.size_bytes),
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(material.filename)}",
        "X-Content-Type-Options": "nosniff",
        "ETag": f'"{material.sha256}"',
    }
    return StreamingResponse(
        _chunks(market, material), media_type=material.content_type, headers=headers
    )
