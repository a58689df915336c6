"""Downloads are bounded: by the size a file can have, and by an overall deadline."""

import http.server
import threading
import time

import pytest

from keras_i3d.errors import DownloadError
from keras_i3d.utils import download
from keras_i3d.weights import deepmind

pytestmark = pytest.mark.backend_independent


class _Hostile(http.server.BaseHTTPRequestHandler):
    """``/endless``: a body that never ends; ``/announced``: a huge Content-Length; ``/trickle``: a byte a second."""

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        self.send_response(200)
        if self.path == "/announced":
            self.send_header("Content-Length", str(300 << 20))
            self.end_headers()
            return
        self.end_headers()
        try:
            for _ in range(100_000):
                if self.path == "/trickle":
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
                else:
                    self.wfile.write(b"x" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def hostile():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_endless_body_stops_at_the_size_the_file_can_have(hostile, tmp_path):
    """300 MB were accepted where a small .index was expected, filling the disk before the digest check."""
    bound = deepmind.max_size("checkpoints/rgb_scratch/model.ckpt.index")
    assert bound == 1 << 20
    with pytest.raises(DownloadError, match=f"more than {bound} bytes, larger than this file can be"):
        download.download_file(f"{hostile}/endless", tmp_path / "model.ckpt.index", None, max_bytes=bound)
    with pytest.raises(DownloadError, match=r"the server announces 314572800 bytes; this file is at most 1048576"):
        download.download_file(f"{hostile}/announced", tmp_path / "model.ckpt.index", None, max_bytes=bound)
    assert list(tmp_path.iterdir()) == []  # nothing kept


def test_a_trickling_server_meets_the_overall_deadline(hostile, tmp_path, monkeypatch):
    """A byte every few seconds never tripped the 60 s read timeout: I3D(weights=...) hung forever."""
    monkeypatch.setenv(download.DEADLINE_ENV, "1.5")
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"not finished after 1.5 s \(\d+ bytes so far\); \$KERAS_I3D_DOWNLOAD"):
        download.download_file(f"{hostile}/trickle", tmp_path / "x.gif", None)
    assert time.monotonic() - start < 10 and list(tmp_path.iterdir()) == []
    monkeypatch.setenv(download.DEADLINE_ENV, "soon")
    with pytest.raises(DownloadError, match="is not a number of seconds"):
        download.download_file(f"{hostile}/trickle", tmp_path / "x.gif", None)
