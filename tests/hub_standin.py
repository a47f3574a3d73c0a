"""A Hugging Face hub stand-in on 127.0.0.1 for tests: the URL layout and headers huggingface_hub reads.

``HEAD/GET /{repo}/resolve/{revision}/{filename}`` answers with X-Repo-Commit, ETag / X-Linked-Etag
(the file's sha256, as the hub does for LFS files), X-Linked-Size, Content-Length and Accept-Ranges,
and honours ``Range: bytes=N-`` with 206 + Content-Range. Missing files get 404 with the hub's
``X-Error-Code: EntryNotFound`` (unknown repos: ``RepoNotFound``). ``drop_after`` makes the next GET
send that many bytes and cut the connection (an interrupted transfer). Every request is recorded.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


class HubStandIn:
    def __init__(self) -> None:
        self.files: dict[tuple[str, str], bytes] = {}
        self.commit = hashlib.sha1(b"vitnotes test commit").hexdigest()
        self.requests: list[tuple[str, str, str]] = []  # (method, path, Range header)
        self.drop_after: int | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, repo: str, filename: str, data: bytes) -> None:
        self.files[(repo, filename)] = data

    def gets(self) -> list[tuple[str, str, str]]:
        """File transfers (GET …/resolve/…); huggingface_hub's own side requests (e.g. /api/…) left out."""
        return [r for r in self.requests if r[0] == "GET" and "/resolve/" in r[1]]

    def __enter__(self) -> HubStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                hub.requests.append((self.command, self.path, self.headers.get("Range", "")))
                parts = unquote(self.path.split("?")[0]).lstrip("/").split("/")
                if len(parts) < 5 or parts[2] != "resolve":
                    return self._error(404, "RepoNotFound")
                repo, filename = "/".join(parts[:2]), "/".join(parts[4:])
                data = hub.files.get((repo, filename))
                if data is None:
                    known = any(r == repo for r, _ in hub.files)
                    return self._error(404, "EntryNotFound" if known else "RepoNotFound", commit=known)
                start = 0
                rng = self.headers.get("Range", "")
                if rng.startswith("bytes=") and body:
                    start = int(rng[6:].split("-")[0] or 0)
                sha = hashlib.sha256(data).hexdigest()
                self.send_response(206 if start else 200)
                self.send_header("X-Repo-Commit", hub.commit)
                self.send_header("ETag", f'"{sha}"')
                self.send_header("X-Linked-Etag", f'"{sha}"')
                self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(data) - start))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if not body:
                    return
                chunk = data[start:]
                if hub.drop_after is not None:
                    cut, hub.drop_after = hub.drop_after, None
                    self.wfile.write(chunk[:cut])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)  # the transfer breaks off mid-file
                    self.close_connection = True
                    return
                self.wfile.write(chunk)

            def _error(self, code: int, error_code: str, commit: bool = False) -> None:
                msg = b'{"error": "not found"}'
                self.send_response(code)
                self.send_header("X-Error-Code", error_code)
                if commit:
                    self.send_header("X-Repo-Commit", hub.commit)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(msg)

        return Handler


def refused_endpoint() -> str:
    """An address where nothing listens: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class SilentServer:
    """Accepts TCP connections (the kernel's backlog) and never answers a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()
