"""The network side of the Firmware Management profile's transfers (OCPP 1.6 §5.6, §5.19): the only part of the
simulator's firmware and diagnostics flows that does I/O.

The sans-I/O model hands out :class:`~simulator.model.TransferJob` objects; a runtime performs each one with
:func:`perform` inside a task it owns and reports the outcome back::

    for job in station.take_transfers(clock.now()):
        task_group.create_task(run(job))

    async def run(job: TransferJob) -> None:
        outcome = await perform(job, session=http)
        station.transfer_finished(
            job.job_id, ok=outcome.ok, detail=outcome.detail, sha256=outcome.sha256, now=clock.now()
        )

A *download* (firmware) is an HTTP(S) GET that follows redirects, takes only a 2xx answer, and reads the body in
chunks, giving up past ``job.max_bytes``; the detail names its size and SHA-256, and ``sha256`` carries the digest,
which the model needs to verify a signed firmware image (whitepaper L01.FR.04; pass it to ``transfer_finished``).
An *upload* (diagnostics, logs) is an HTTP(S) PUT of the file to ``job.url`` (the model has already appended the
file name to a directory location): what ``curl --upload-file`` does, which is how chargers built on EVerest upload
diagnostics to an ``http://`` location; it takes only a 2xx answer. Credentials in the URL
(``https://user:password@host/...``) are sent as HTTP Basic authentication. ``ftp://`` (and ``ftps://``,
``sftp://``) locations, common in OCPP deployments, are reported as failed with the reason, as is any other scheme.
The whole transfer is bounded by ``job.timeout_s``.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from simulator.model import TransferJob

CHUNK_BYTES = 64 * 1024
_FTP_SCHEMES = frozenset({"ftp", "ftps", "sftp"})


@dataclass(frozen=True)
class TransferOutcome:
    ok: bool
    detail: str
    sha256: bytes | None = None  # the SHA-256 of a downloaded body


async def perform(job: TransferJob, *, session: aiohttp.ClientSession | None = None) -> TransferOutcome:
    """Carry out ``job``; never raises for a transfer that fails (the outcome says why). With ``session`` the
    caller's connection pool (and TLS settings) is used, else a session of its own for this transfer."""
    scheme = urlsplit(job.url).scheme.lower()
    if scheme in _FTP_SCHEMES:
        return TransferOutcome(False, f"{scheme}:// transfers are not supported by this runtime (HTTP and HTTPS only)")
    if scheme not in ("http", "https"):
        return TransferOutcome(False, f"unsupported location scheme {scheme!r} (HTTP and HTTPS only)")
    own = session is None
    client = aiohttp.ClientSession() if session is None else session
    try:
        async with asyncio.timeout(job.timeout_s):
            if job.kind == "download":
                return await _download(client, job)
            return await _upload(client, job)
    except TimeoutError:
        return TransferOutcome(False, f"timed out after {job.timeout_s:g} s")
    except aiohttp.ClientError as exc:
        return TransferOutcome(False, f"{type(exc).__name__}: {exc}")
    finally:
        if own:
            await client.close()


async def _download(session: aiohttp.ClientSession, job: TransferJob) -> TransferOutcome:
    async with session.get(job.url) as response:
        if not 200 <= response.status < 300:
            return TransferOutcome(False, f"HTTP {response.status} {response.reason or ''}".rstrip())
        if response.content_length is not None and response.content_length > job.max_bytes:
            return TransferOutcome(False, f"{response.content_length} bytes is more than the {job.max_bytes} allowed")
        digest = hashlib.sha256()
        size = 0
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            size += len(chunk)
            if size > job.max_bytes:
                return TransferOutcome(False, f"more than the {job.max_bytes} bytes allowed")
            digest.update(chunk)
    return TransferOutcome(True, f"{size} bytes, sha256 {digest.hexdigest()}", digest.digest())


async def _upload(session: aiohttp.ClientSession, job: TransferJob) -> TransferOutcome:
    headers = {"Content-Type": job.content_type} if job.content_type else {}
    async with session.put(job.url, data=job.body, headers=headers) as response:
        if not 200 <= response.status < 300:
            return TransferOutcome(False, f"HTTP {response.status} {response.reason or ''}".rstrip())
    return TransferOutcome(True, f"{len(job.body)} bytes, HTTP {response.status}")
