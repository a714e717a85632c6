"""A registry with the OCI referrers API: docker-registry behind a front that adds it.

Distribution 2.8 (Debian's docker-registry) predates the referrers API and answers
``GET /v2/NAME/referrers/DIGEST`` with 404, so the tests run the other half of the OCI
distribution spec 1.1 here: :class:`ReferrersFront` forwards every request to the real
registry unchanged, and indexes each manifest pushed through it that carries a
``subject``, as a registry with the API does. It answers the referrers endpoint from that
index (an OCI image index of descriptors with ``artifactType`` and ``annotations``, the
``artifactType`` query filter applied, ``OCI-Filters-Applied`` set) and acknowledges
such pushes with the ``OCI-Subject`` header, which tells clients not to maintain the
fallback tag. With :attr:`page_size` set it pages its answers with ``Link: <...>;
rel="next"`` as a registry may. Loopback only; every request is counted in :attr:`calls`.

    >>> front = ReferrersFront("http://127.0.0.1:1")
    >>> front.referrers("app", "sha256:" + "0" * 64)["manifests"]
    []
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tests.integration.oci_push import OCI_INDEX, digest_of

_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class ReferrersFront:
    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.index: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._session = requests.Session()
        self._session.trust_env = False
        self.page_size = 0  # > 0: the referrers answer is paged with Link rel="next"
        self.next_host = ""  # set: the next-page links point to this host instead

    @property
    def host(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.server_address[1]}"

    def referrers(self, name: str, digest: str, artifact_type: str = "") -> dict[str, Any]:
        with self.lock:
            found = list(self.index.get((name, digest), []))
        if artifact_type:
            found = [d for d in found if d.get("artifactType") == artifact_type]
        return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": found}

    def record(self, name: str, body: bytes, media_type: str) -> str | None:
        """Index a pushed manifest under its subject; the subject's digest, if any."""
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        subject = doc.get("subject") if isinstance(doc, dict) else None
        if not isinstance(subject, dict) or not isinstance(subject.get("digest"), str):
            return None
        descriptor: dict[str, Any] = {
            "mediaType": media_type,
            "digest": digest_of(body),
            "size": len(body),
        }
        artifact_type = doc.get("artifactType") or doc.get("config", {}).get("mediaType")
        if artifact_type:
            descriptor["artifactType"] = artifact_type
        if doc.get("annotations"):
            descriptor["annotations"] = doc["annotations"]
        with self.lock:
            self.index.setdefault((name, subject["digest"]), []).append(descriptor)
        return str(subject["digest"])

    def start(self) -> ReferrersFront:
        front = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                segments = parts.path.split("/")
                if self.command == "GET" and "referrers" in segments[3:]:
                    at = segments.index("referrers", 3)
                    front.calls["referrers"] += 1
                    name, digest = "/".join(segments[2:at]), segments[at + 1]
                    query = parse_qs(parts.query)
                    wanted = query.get("artifactType", [""])[0]
                    index = front.referrers(name, digest, wanted)
                    headers = {"Content-Type": OCI_INDEX, **({"OCI-Filters-Applied": "artifactType"} if wanted else {})}  # fmt: skip
                    if front.page_size:
                        start = int(query.get("last", ["0"])[0])
                        end = start + front.page_size
                        if end < len(index["manifests"]):
                            host = f"http://{front.next_host}" if front.next_host else ""
                            headers["Link"] = f'<{host}{parts.path}?last={end}>; rel="next"'
                        index["manifests"] = index["manifests"][start:end]
                    self._answer(200, json.dumps(index).encode(), headers)
                    return
                front.calls[f"{self.command} {parts.path}"] += 1
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                reply = front._session.request(
                    self.command, front.backend + self.path, data=body, headers=headers,
                    allow_redirects=False, timeout=30,
                )  # fmt: skip
                extra = {}
                if self.command == "PUT" and "/manifests/" in parts.path and reply.ok:
                    name = parts.path[len("/v2/") : parts.path.index("/manifests/")]
                    subject = front.record(name, body, self.headers.get("Content-Type", ""))
                    if subject:
                        extra["OCI-Subject"] = subject
                out = {k: v for k, v in reply.headers.items() if k.lower() not in _HOP_HEADERS}
                self._answer(reply.status_code, reply.content if self.command != "HEAD" else b"",
                             {**out, **extra}, length=len(reply.content))  # fmt: skip

            def _answer(
                self, status: int, body: bytes, headers: dict[str, str], length: int | None = None
            ) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
