"""Streaming downloads that are verified before they are kept."""

from __future__ import annotations

import http.client
import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from keras_i3d.errors import DownloadError
from keras_i3d.utils.files import atomic_path, git_blob_id, sha256_file
from keras_i3d.utils.progress import bar as progress_bar

_CHUNK = 1 << 20
#: Seconds to wait for a connection or for the next chunk.
TIMEOUT = 60
#: Seconds a whole download may take (a server trickling a byte every few seconds never
#: trips `TIMEOUT`); ``$KERAS_I3D_DOWNLOAD_DEADLINE`` overrides it.
DEADLINE = 1800
DEADLINE_ENV = "KERAS_I3D_DOWNLOAD_DEADLINE"


def deadline_seconds() -> float:
    """The overall limit of one download: `DEADLINE`, or ``$KERAS_I3D_DOWNLOAD_DEADLINE`` seconds."""
    value = os.environ.get(DEADLINE_ENV)
    if not value:
        return float(DEADLINE)
    try:
        seconds = float(value)
    except ValueError:
        raise DownloadError(f"${DEADLINE_ENV}={value!r} is not a number of seconds.") from None
    if not seconds > 0:
        raise DownloadError(f"${DEADLINE_ENV}={value!r} must be a positive number of seconds.")
    return seconds


#: Digest functions a download can be verified with.
DIGESTS = {"git_blob_id": git_blob_id, "sha256": sha256_file}


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        reason = error.reason
        return getattr(reason, "strerror", None) or str(reason)
    if isinstance(error, (socket.timeout, TimeoutError)):
        return f"no data for {TIMEOUT} s (timed out)"
    if isinstance(error, http.client.IncompleteRead):
        return f"connection closed after {len(error.partial)} more bytes (download cut off)"
    return str(error) or type(error).__name__


def _stream(url: str, dest: Path, progress: bool, desc: str, max_bytes: int | None) -> None:
    limit = deadline_seconds()
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        if max_bytes is not None and total is not None and total > max_bytes:
            raise DownloadError(f"{url}: the server announces {total} bytes; this file is at most {max_bytes}.")
        with progress_bar(total=total, progress=progress, unit="B", unit_scale=True, desc=desc, leave=False) as bar:
            size = _CHUNK if max_bytes is None else min(_CHUNK, max_bytes + 1)
            read = getattr(response, "read1", response.read)  # what has arrived: the deadline is checked as it comes
            for chunk in iter(lambda: read(size), b""):
                out.write(chunk)
                bar.update(len(chunk))
                if max_bytes is not None and out.tell() > max_bytes:
                    raise DownloadError(f"{url}: more than {max_bytes} bytes, larger than this file can be.")
                if time.monotonic() - started > limit:
                    raise DownloadError(
                        f"{url}: not finished after {limit:g} s ({out.tell()} bytes so far); "
                        f"${DEADLINE_ENV} sets the limit."
                    )
        if total is not None and out.tell() != total:
            raise DownloadError(f"{url}: got {out.tell()} of {total} bytes (download cut off).")


def download_file(
    url: str,
    dest: str | os.PathLike,
    expected: str | None,
    digest: str = "git_blob_id",
    progress: bool = True,
    desc: str | None = None,
    max_bytes: int | None = None,
) -> Path:
    """Downloads ``url`` to ``dest``, keeping it only if its digest matches.

    The bytes stream into a temporary file beside ``dest`` (with a progress
    bar), are hashed, and only then moved to ``dest``. On any failure (network
    error, cut-off transfer, digest mismatch, Ctrl-C) nothing is left behind.

    Args:
        url: ``https://``, ``http://`` or ``file://`` URL.
        dest: where the verified file goes.
        expected: the expected digest (hex), or ``None`` to skip verification
            (only for files that are verified otherwise, e.g. by a digest of
            their content).
        digest: ``"git_blob_id"`` or ``"sha256"``.
        progress: show a progress bar.
        desc: its label (default: the file name).
        max_bytes: the most bytes the file can have: a larger announced size,
            or a body that goes on past it, stops the download (before any
            digest is computed). The whole download also stops after
            `deadline_seconds`.

    Returns:
        ``dest``.

    Raises:
        DownloadError: naming the URL and what went wrong; for a digest
            mismatch, the expected and actual digests.
    """
    dest = Path(dest)
    with atomic_path(dest, suffix=".download") as tmp:
        try:
            _stream(url, tmp, progress, desc=desc or dest.name, max_bytes=max_bytes)
        except DownloadError:
            raise
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise DownloadError(f"{url}: {_describe(e)}") from e
        if expected is not None:
            actual = DIGESTS[digest](tmp)
            if actual != expected.lower():
                raise DownloadError(
                    f"{url} does not verify: expected {digest} {expected}, got {actual} "
                    "(tampered, corrupted or a different file). Nothing was kept."
                )
    return dest


def fetch_text(url: str) -> str:
    """Returns the (small) text file at ``url``.

    Raises:
        DownloadError: if it cannot be fetched.
    """
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.read(1 << 16).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException, ValueError) as e:
        raise DownloadError(f"{url}: {_describe(e)}") from e
