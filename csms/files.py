"""The CSMS's file server for Firmware Management (OCPP 1.6 §5.6 GetDiagnostics, §5.19 UpdateFirmware), on its own
port next to the websocket endpoint and the API.

``GET /files/firmware/{name}`` (and HEAD) serves a firmware image for any name, so an UpdateFirmware can point a
station at this CSMS (TC_044_1/3): the image is derived from the name, the same bytes on every request and every
restart, a few KiB, with its Content-Length and its SHA-256 as ETag.

``PUT /files/diagnostics/{name}`` takes the file a station uploads after GetDiagnostics (TC_045_1), as
``curl --upload-file`` does; ``POST`` to the same URL, or to the location ``/files/diagnostics/`` itself, with a
``multipart/form-data`` body of one file field is what many chargers do instead (the field's filename names the
file when the URL does not). Files beyond :data:`MAX_UPLOAD_BYTES` are refused with 413. ``/files/logs/`` takes the
log files of GetLog (security whitepaper N01, TC_079) the same ways. ``GET /api/diagnostics`` lists what was
uploaded; ``GET /api/diagnostics/{id}/content`` returns a file.

The ``/files`` routes are what stations reach, with no API credentials; they sit apart from ``/api`` so that an
API authentication can cover ``/api`` and leave them to the stations (or give them the stations' own).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from urllib.parse import unquote

from aiohttp import BodyPartReader, MultipartReader, web

from csms.api import ApiError
from csms.profile_store import ProfileStore, safe_file_name

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_FILE_NAME_LENGTH = 255
FIRMWARE_IMAGE_BASE_BYTES = 4096
DEFAULT_FIRMWARE_NAME = "ocpp-harness-firmware-1.1.0.bin"
FIRMWARE_PATH = "/files/firmware/"
DIAGNOSTICS_PATH = "/files/diagnostics/"
LOGS_PATH = "/files/logs/"
_CHUNK_BYTES = 64 * 1024


def firmware_image(name: str) -> bytes:
    """A header naming the image, then SHA-256 in counter mode over the name: 4 to 8 KiB, a size of its own per
    name, so a station that mixed up two images would show it in its checksum and length."""
    seed = hashlib.sha256(name.encode("utf-8")).digest()
    size = FIRMWARE_IMAGE_BASE_BYTES + seed[0] * 16
    header = f"OCPP-HARNESS FIRMWARE IMAGE\nname: {name}\n\n".encode()
    blocks = b"".join(hashlib.sha256(seed + index.to_bytes(4, "big")).digest() for index in range(size // 32 + 1))
    return (header + blocks)[:size]


def upload_name(raw: str) -> str:
    """The name an upload is kept under: the last path segment, characters outside ``A-Za-z0-9._-`` replaced."""
    if len(raw) > MAX_FILE_NAME_LENGTH:
        raise ApiError(400, f"The file name must be at most {MAX_FILE_NAME_LENGTH} characters long.")
    name = safe_file_name(raw)
    if not name:
        raise ApiError(400, f"The file name {raw!r} has nothing a file can be named after.")
    return name


async def _capped(chunks: AsyncIterator[bytes]) -> bytes:
    received = bytearray()
    async for chunk in chunks:
        received += chunk
        if len(received) > MAX_UPLOAD_BYTES:
            raise ApiError(413, f"An upload may be at most {MAX_UPLOAD_BYTES} bytes.")
    return bytes(received)


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(_CHUNK_BYTES):
        yield chunk


class FileServer:
    """The ``/files`` routes and the upload listing of the API."""

    def __init__(self, *, profiles: ProfileStore, clock: Callable[[], float]) -> None:
        self._profiles = profiles
        self._clock = clock

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(FIRMWARE_PATH + "{name}", self._firmware)
        for path in (DIAGNOSTICS_PATH, LOGS_PATH):
            router.add_put(path + "{name}", self._put_diagnostics)
            router.add_post(path + "{name}", self._post_diagnostics)
            router.add_post(path, self._post_diagnostics)
            router.add_put(path, self._put_without_name)
        router.add_get("/api/diagnostics", self._list_uploads)
        router.add_get("/api/diagnostics/{upload_id}/content", self._upload_content)

    async def _firmware(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if len(name) > MAX_FILE_NAME_LENGTH:
            raise ApiError(400, f"The file name must be at most {MAX_FILE_NAME_LENGTH} characters long.")
        image = firmware_image(name)
        return web.Response(
            body=image,
            content_type="application/octet-stream",
            headers={
                "ETag": f'"{hashlib.sha256(image).hexdigest()}"',
                "Content-Disposition": f'attachment; filename="{safe_file_name(name) or "firmware.bin"}"',
            },
        )

    async def _put_diagnostics(self, request: web.Request) -> web.Response:
        name = upload_name(request.match_info["name"])
        if request.content_length is not None and request.content_length > MAX_UPLOAD_BYTES:
            raise ApiError(413, f"An upload may be at most {MAX_UPLOAD_BYTES} bytes.")
        content = await _capped(request.content.iter_chunked(_CHUNK_BYTES))
        return await self._keep(name, content, request.headers.get("Content-Type"))

    async def _put_without_name(self, request: web.Request) -> web.Response:
        raise ApiError(400, f"A PUT names its file: PUT {request.path}{{name}}.")

    async def _post_diagnostics(self, request: web.Request) -> web.Response:
        """A multipart/form-data body with one file field; any other body is taken whole, as with PUT."""
        named = request.match_info.get("name")
        if request.content_type != "multipart/form-data":
            if named is None:
                raise ApiError(400, "A POST without a file name in its URL needs a multipart/form-data body.")
            return await self._put_diagnostics(request)
        if request.content_length is not None and request.content_length > MAX_UPLOAD_BYTES + _CHUNK_BYTES:
            raise ApiError(413, f"An upload may be at most {MAX_UPLOAD_BYTES} bytes.")
        try:
            reader = await request.multipart()
        except (ValueError, AssertionError):
            raise ApiError(400, "The multipart/form-data body has no boundary.") from None
        try:
            found = await self._file_field(reader)
        except ValueError as exc:
            raise ApiError(400, f"The multipart/form-data body is malformed: {exc}.") from None
        if found is None:
            raise ApiError(400, "The multipart/form-data body has no file field.")
        file_name, content, content_type = found
        # A filename may come percent-encoded (RFC 7578 §4.2 allows it; aiohttp's client does it).
        return await self._keep(upload_name(named if named is not None else unquote(file_name)), content, content_type)

    @staticmethod
    async def _file_field(reader: MultipartReader) -> tuple[str, bytes, str | None] | None:
        """The one part with a filename: (filename, content, content type); the other fields are skipped."""
        found: tuple[str, bytes, str | None] | None = None
        while (part := await reader.next()) is not None:
            if isinstance(part, MultipartReader) or not part.filename:
                await part.release()
                continue
            if found is not None:
                raise ApiError(400, "The multipart/form-data body must carry one file field, not several.")
            content = await _capped(_part_chunks(part))
            found = (part.filename, content, part.headers.get("Content-Type"))
        return found

    async def _keep(self, name: str, content: bytes, content_type: str | None) -> web.Response:
        upload = await self._profiles.add_upload(
            file_name=name, content=content, content_type=content_type, now_s=self._clock()
        )
        return web.json_response(
            upload.as_json(), status=201, headers={"Location": f"/api/diagnostics/{upload.id}/content"}
        )

    async def _list_uploads(self, request: web.Request) -> web.Response:
        """Every upload, oldest first: ``[{id, station_id, job_id, file_name, size, sha256, content_type,
        received_at}]``; ``?station_id=`` keeps those attributed to one station."""
        uploads = await self._profiles.uploads(station_id=request.query.get("station_id"))
        return web.json_response([upload.as_json() for upload in uploads])

    async def _upload_content(self, request: web.Request) -> web.Response:
        text = request.match_info["upload_id"]
        found = await self._profiles.upload_content(int(text)) if text.isdigit() else None
        if found is None:
            raise ApiError(404, f"There is no diagnostics upload {text!r}.")
        upload, content = found
        return web.Response(
            body=content,
            headers={
                "Content-Type": upload.content_type or "application/octet-stream",
                "Content-Disposition": f'attachment; filename="{upload.file_name}"',
            },
        )
