"""The registry client against a hostile registry: each attack fails clearly, within the deadline.

The fake registry is ``http.server`` in a thread on 127.0.0.1; each test installs the
routes it needs (a route writes whatever raw answer the attack calls for) and counts
the requests that reached it.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gate.facts.registry import (
    Authenticator,
    ClientOptions,
    Deadline,
    RegistryClient,
    RegistryError,
    TransportOptions,
    fetch_platforms,
)
from gate.facts.registry.manifest import DOCKER_V1_SIGNED, OCI_MANIFEST
from gate.reference import parse_reference

Route = Callable[[BaseHTTPRequestHandler], None]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class FakeRegistry:
    """Routes by exact path; ``hits`` counts (method, path) of every request."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[tuple[str, str]] = Counter()
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                fake.hits[(self.command, self.path)] += 1
                time.sleep(fake.delay)
                route = fake.routes.get(self.path)
                if route is None:
                    send(self, 404, b'{"errors":[{"code":"NOT_FOUND"}]}')
                else:
                    route(self)

            do_GET = do_HEAD = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.server.handle_error = lambda *_: None  # type: ignore[method-assign]  # hung-up clients
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.host = f"127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def blob(self, repo: str, data: bytes, content_type: str = "application/json") -> str:
        digest = sha(data)
        self.routes[f"/v2/{repo}/blobs/{digest}"] = lambda h: send(h, 200, data, content_type)
        return digest

    def image(self, repo: str, config: dict[str, Any]) -> tuple[str, bytes]:
        """Serve a one-platform OCI image; returns its digest and manifest bytes."""
        body = json.dumps(config).encode()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": self.blob(repo, body),
                    "size": len(body),
                },
                "layers": [],
            }
        ).encode()
        digest = sha(manifest)
        self.routes[f"/v2/{repo}/manifests/{digest}"] = lambda h: send(
            h, 200, manifest, OCI_MANIFEST
        )
        return digest, manifest


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


CONFIG = {"architecture": "amd64", "os": "linux", "config": {"User": "1000"}}


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    server = FakeRegistry()
    yield server
    server.stop()


def client_for(fake: FakeRegistry, **transport: Any) -> RegistryClient:
    options = TransportOptions(
        **{"insecure_hosts": (fake.host,), "backoff_base": 0.05, **transport}
    )
    return RegistryClient(ClientOptions(approved=(f"{fake.host}/**",), transport=options))


def ref(fake: FakeRegistry, digest: str, repo: str = "app") -> Any:
    return parse_reference(f"{fake.host}/{repo}@{digest}")


def expect_error(call: Callable[[], object], text: str, within: float) -> RegistryError:
    started = time.monotonic()
    with pytest.raises(RegistryError) as info:
        call()
    elapsed = time.monotonic() - started
    assert text in str(info.value), str(info.value)
    assert info.value.hint, "every registry error carries a hint"
    assert elapsed < within, f"took {elapsed:.2f}s"
    return info.value


def test_manifest_not_matching_its_digest_is_refused(fake: FakeRegistry) -> None:
    digest, manifest = fake.image("app", CONFIG)
    fake.routes[f"/v2/app/manifests/{digest}"] = lambda h: send(
        h, 200, manifest + b" ", OCI_MANIFEST
    )
    error = expect_error(
        lambda: fetch_platforms(client_for(fake), ref(fake, digest), Deadline.after(5)),
        "does not match its digest",
        5,
    )
    assert error.registry == fake.host and error.repository == "app"


def test_config_not_matching_its_digest_is_refused(fake: FakeRegistry) -> None:
    digest, manifest = fake.image("app", CONFIG)
    config_digest = json.loads(manifest)["config"]["digest"]
    tampered = json.dumps({**CONFIG, "config": {"User": "0"}}).encode()
    fake.routes[f"/v2/app/blobs/{config_digest}"] = lambda h: send(h, 200, tampered)
    expect_error(
        lambda: fetch_platforms(client_for(fake), ref(fake, digest), Deadline.after(5)),
        f"blob {config_digest} does not match its digest",
        5,
    )


def test_sha512_digests_are_verified(fake: FakeRegistry) -> None:
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha(b"{}"),
                "size": 2,
            },
            "layers": [],
        }
    ).encode()
    good = "sha512:" + hashlib.sha512(body).hexdigest()
    bad = "sha512:" + hashlib.sha512(body + b"x").hexdigest()
    for digest in (good, bad):
        fake.routes[f"/v2/app/manifests/{digest}"] = lambda h: send(h, 200, body, OCI_MANIFEST)
    client = client_for(fake)
    assert client.manifest(ref(fake, good), good, Deadline.after(5)).digest == good
    expect_error(
        lambda: client.manifest(ref(fake, bad), bad, Deadline.after(5)), "does not match", 5
    )


def test_tag_whose_digest_header_lies_is_refused(fake: FakeRegistry) -> None:
    _, manifest = fake.image("app", CONFIG)
    lie = sha(b"something else")
    fake.routes["/v2/app/manifests/v1"] = lambda h: send(
        h, 200, manifest, OCI_MANIFEST, {"Docker-Content-Digest": lie} if h.command == "GET" else {}
    )
    reference = parse_reference(f"{fake.host}/app:v1")
    expect_error(
        lambda: fetch_platforms(client_for(fake), reference, Deadline.after(5)),
        "does not match its digest",
        5,
    )
    assert fake.hits[("HEAD", "/v2/app/manifests/v1")] == 1  # HEAD had no digest: GET followed


def test_schema1_manifest_is_refused_with_a_clear_message(fake: FakeRegistry) -> None:
    body = json.dumps({"schemaVersion": 1, "name": "app", "tag": "v1", "fsLayers": []}).encode()
    digest = sha(body)
    fake.routes[f"/v2/app/manifests/{digest}"] = lambda h: send(h, 200, body, DOCKER_V1_SIGNED)
    error = expect_error(
        lambda: fetch_platforms(client_for(fake), ref(fake, digest), Deadline.after(5)),
        "Docker schema 1 manifest refused",
        5,
    )
    assert "re-push" in error.hint


def test_huge_manifest_is_refused_while_streaming(fake: FakeRegistry) -> None:
    digest = sha(b"never")
    sent = []

    def endless(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", OCI_MANIFEST)
        h.send_header("Connection", "close")
        h.end_headers()
        try:
            for _ in range(64 * 16):  # up to 64 MiB, stops when the client hangs up
                h.wfile.write(b" " * 65536)
                sent.append(1)
        except OSError:
            pass

    fake.routes[f"/v2/app/manifests/{digest}"] = endless
    expect_error(
        lambda: client_for(fake).manifest(ref(fake, digest), digest, Deadline.after(10)),
        "more than 4194304 bytes",
        10,
    )
    time.sleep(0.2)
    assert len(sent) < 64 * 16, "the client read the whole body instead of stopping at the limit"


def test_declared_oversize_is_refused_before_reading(fake: FakeRegistry) -> None:
    digest = sha(b"x")

    def declared(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(10 * 1024 * 1024))
        h.end_headers()

    fake.routes[f"/v2/app/manifests/{digest}"] = declared
    expect_error(
        lambda: client_for(fake).manifest(ref(fake, digest), digest, Deadline.after(5)),
        "is 10485760 bytes, over gate's limit",
        5,
    )


def test_trickled_body_stops_at_the_deadline(fake: FakeRegistry) -> None:
    digest = sha(b"slow")

    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        try:
            for _ in range(1000):
                h.wfile.write(b" ")
                h.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass

    fake.routes[f"/v2/app/manifests/{digest}"] = trickle
    client = client_for(fake, read_timeout=5.0)
    expect_error(
        lambda: client.manifest(ref(fake, digest), digest, Deadline.after(1.0)),
        "deadline exceeded",
        2.5,  # the trickle alone would take 100 s
    )


def test_trickled_headers_stop_at_the_deadline(fake: FakeRegistry) -> None:
    digest = sha(b"slow headers")

    def trickle(h: BaseHTTPRequestHandler) -> None:
        try:
            for char in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 500:
                h.wfile.write(bytes([char]))
                h.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    fake.routes[f"/v2/app/manifests/{digest}"] = trickle
    client = client_for(fake, read_timeout=5.0, max_retries=0)
    expect_error(
        lambda: client.manifest(ref(fake, digest), digest, Deadline.after(1.0)),
        "deadline exceeded",
        2.5,  # the trickled headers alone would take 25 s
    )


def test_silent_server_times_out_within_the_deadline(fake: FakeRegistry) -> None:
    fake.delay = 5.0
    digest = sha(b"silent")
    expect_error(
        lambda: client_for(fake).manifest(ref(fake, digest), digest, Deadline.after(0.8)),
        "deadline exceeded",
        2.3,  # the server answers after 5 s
    )


def redirect(to: str, status: int = 307) -> Route:
    return lambda h: send(h, status, b"", headers={"Location": to})


def test_redirect_loop_is_refused(fake: FakeRegistry) -> None:
    digest = sha(b"loop")
    fake.routes[f"/v2/app/blobs/{digest}"] = redirect("/a")
    fake.routes["/a"] = redirect("/b")
    fake.routes["/b"] = redirect("/a")
    expect_error(
        lambda: client_for(fake).blob(ref(fake, digest), digest, Deadline.after(5), 100),
        "redirect loop",
        5,
    )


def test_too_many_redirects_are_refused(fake: FakeRegistry) -> None:
    digest = sha(b"hops")
    fake.routes[f"/v2/app/blobs/{digest}"] = redirect("/hop/0")
    for i in range(10):
        fake.routes[f"/hop/{i}"] = redirect(f"/hop/{i + 1}")
    expect_error(
        lambda: client_for(fake).blob(ref(fake, digest), digest, Deadline.after(5), 100),
        "more than 3 redirects",
        5,
    )


def test_redirect_to_a_blob_host_is_followed_without_credentials(fake: FakeRegistry) -> None:
    storage = FakeRegistry()
    try:
        data = b'{"stored": true}'
        digest = sha(data)
        seen: list[str | None] = []

        def stored(h: BaseHTTPRequestHandler) -> None:
            seen.append(h.headers.get("Authorization"))
            send(h, 200, data)

        storage.routes["/bucket/object"] = stored
        fake.routes[f"/v2/app/blobs/{digest}"] = redirect(f"http://{storage.host}/bucket/object")
        options = ClientOptions(
            approved=(f"{fake.host}/**",),
            blob_hosts=(storage.host,),
            transport=TransportOptions(insecure_hosts=(fake.host, storage.host)),
        )
        assert (
            RegistryClient(options).blob(ref(fake, digest), digest, Deadline.after(5), 100) == data
        )
        assert seen == [None]
    finally:
        storage.stop()


def listening_socket() -> tuple[socket.socket, Callable[[], int]]:
    """A socket that counts the connections made to it (accepted within 0.5 s)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.5)

    def accepts() -> int:
        count = 0
        while True:
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                return count
            conn.close()
            count += 1

    return sock, accepts


def test_redirect_to_an_unapproved_host_makes_no_connection(fake: FakeRegistry) -> None:
    sock, accepts = listening_socket()
    with sock:
        other = f"127.0.0.1:{sock.getsockname()[1]}"
        digest = sha(b"elsewhere")
        fake.routes[f"/v2/app/blobs/{digest}"] = redirect(f"http://{other}/steal")
        client = client_for(fake, insecure_hosts=(fake.host, other))
        expect_error(
            lambda: client.blob(ref(fake, digest), digest, Deadline.after(5), 100),
            f"refusing to contact {other}",
            5,
        )
        assert accepts() == 0


def test_unapproved_registry_is_never_contacted() -> None:
    sock, accepts = listening_socket()
    with sock:
        host = f"127.0.0.1:{sock.getsockname()[1]}"
        client = RegistryClient(
            ClientOptions(
                approved=("us-docker.pkg.dev/proj/**",),
                transport=TransportOptions(insecure_hosts=(host,)),
            )
        )
        for text in (f"{host}/app:1", f"{host}/app@{sha(b'x')}"):
            reference = parse_reference(text)

            def fetch(r: Any = reference) -> object:
                return fetch_platforms(client, r, Deadline.after(5))

            error = expect_error(
                fetch,
                "not an approved registry",
                1,
            )
            assert "registries.approved" in error.hint
        assert accepts() == 0


def test_bearer_realm_on_another_host_gets_no_credentials(fake: FakeRegistry) -> None:
    sock, accepts = listening_socket()
    with sock:
        realm = f"http://127.0.0.1:{sock.getsockname()[1]}/token"
        digest = sha(b"realm")
        fake.routes[f"/v2/app/manifests/{digest}"] = lambda h: send(
            h, 401, b"", headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="x"'}
        )
        client = client_for(fake, insecure_hosts=(fake.host, realm.split("/")[2]))
        expect_error(
            lambda: client.manifest(ref(fake, digest), digest, Deadline.after(5)),
            "refusing to contact",
            5,
        )
        assert accepts() == 0


def test_https_is_used_unless_the_host_is_listed_insecure(fake: FakeRegistry) -> None:
    digest, _ = fake.image("app", CONFIG)
    client = client_for(fake, insecure_hosts=(), max_retries=0)
    error = expect_error(
        lambda: client.manifest(ref(fake, digest), digest, Deadline.after(5)), "SSLError", 5
    )
    assert "CA bundle" in error.hint


def tls_files(folder: Path) -> tuple[Path, Path]:
    """A CA (its PEM file is returned) and a 127.0.0.1 server certificate it signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("gate test CA"))
        .issuer_name(name("gate test CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server = folder / "server.pem"
    server.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return folder / "ca.pem", server


def test_https_registry_verified_with_a_ca_bundle(tmp_path: Path) -> None:
    ca_file, server_file = tls_files(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server_file)
    secure = FakeRegistry(tls=context)
    try:
        digest, _ = secure.image("app", CONFIG)
        approved = (f"{secure.host}/**",)
        trusting = RegistryClient(
            ClientOptions(approved=approved, transport=TransportOptions(ca_bundle=str(ca_file)))
        )
        facts = fetch_platforms(trusting, ref(secure, digest), Deadline.after(5))
        assert facts.platforms[0].config["user"] == "1000"
        default = RegistryClient(
            ClientOptions(approved=approved, transport=TransportOptions(max_retries=0))
        )
        error = expect_error(
            lambda: default.manifest(ref(secure, digest), digest, Deadline.after(5)), "SSLError", 5
        )
        assert "CA bundle" in error.hint
    finally:
        secure.stop()


def flaky(statuses: list[int], then: Route, headers: dict[str, str] | None = None) -> Route:
    remaining = list(statuses)

    def route(h: BaseHTTPRequestHandler) -> None:
        if remaining:
            send(h, remaining.pop(0), b"busy", headers=headers)
        else:
            then(h)

    return route


def test_500s_then_success_is_retried(fake: FakeRegistry) -> None:
    digest, manifest = fake.image("app", CONFIG)
    fake.routes[f"/v2/app/manifests/{digest}"] = flaky(
        [500, 503], lambda h: send(h, 200, manifest, OCI_MANIFEST)
    )
    client = client_for(fake)
    facts = fetch_platforms(client, ref(fake, digest), Deadline.after(5))
    assert facts.platforms[0].config["user"] == "1000"
    assert client.stats()["retries"] == 2


def test_persistent_500_fails_with_status_and_hint(fake: FakeRegistry) -> None:
    digest = sha(b"down")
    fake.routes[f"/v2/app/manifests/{digest}"] = lambda h: send(h, 500, b"down")
    client = client_for(fake, max_retries=2)
    error = expect_error(
        lambda: client.manifest(ref(fake, digest), digest, Deadline.after(5)), "HTTP 500", 5
    )
    assert error.status == 500 and fake.hits[("GET", f"/v2/app/manifests/{digest}")] == 3


def test_429_retry_after_is_honoured(fake: FakeRegistry) -> None:
    digest, manifest = fake.image("app", CONFIG)
    fake.routes[f"/v2/app/manifests/{digest}"] = flaky(
        [429], lambda h: send(h, 200, manifest, OCI_MANIFEST), {"Retry-After": "1"}
    )
    started = time.monotonic()
    client_for(fake).manifest(ref(fake, digest), digest, Deadline.after(5))
    assert 1.0 <= time.monotonic() - started < 3


def test_429_retry_after_beyond_the_deadline_fails_at_once(fake: FakeRegistry) -> None:
    digest = sha(b"limited")
    fake.routes[f"/v2/app/manifests/{digest}"] = lambda h: send(
        h, 429, b"slow down", headers={"Retry-After": "30"}
    )
    expect_error(
        lambda: client_for(fake).manifest(ref(fake, digest), digest, Deadline.after(3)),
        "would pass the deadline",
        1,
    )


def test_connection_refused_fails_with_a_network_hint() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    host = f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()  # nothing listens there now
    client = RegistryClient(
        ClientOptions(
            approved=(f"{host}/**",),
            transport=TransportOptions(insecure_hosts=(host,), max_retries=2, backoff_base=0.05),
        )
    )
    reference = parse_reference(f"{host}/app:1")
    error = expect_error(lambda: client.resolve(reference, Deadline.after(5)), "ConnectionError", 3)
    assert "network" in error.hint or "reach" in error.hint
    assert client.stats()["retries"] == 2


def test_concurrent_fetches_of_one_digest_make_one_request_each(fake: FakeRegistry) -> None:
    digest, manifest = fake.image("app", CONFIG)
    config_digest = json.loads(manifest)["config"]["digest"]
    fake.delay = 0.2  # every answer is slow, so the 20 callers overlap
    client = client_for(fake)
    results: list[object] = []
    barrier = threading.Barrier(20)

    def evaluate() -> None:
        barrier.wait()
        try:
            results.append(fetch_platforms(client, ref(fake, digest), Deadline.after(10)))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=evaluate) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert len(results) == 20 and not [r for r in results if isinstance(r, Exception)], results
    assert fake.hits[("GET", f"/v2/app/manifests/{digest}")] == 1
    assert fake.hits[("GET", f"/v2/app/blobs/{config_digest}")] == 1
    assert sum(fake.hits.values()) == 2


def test_token_responses_are_cached_until_expiry(fake: FakeRegistry) -> None:
    digest, manifest = fake.image("app", CONFIG)
    challenge = {"WWW-Authenticate": f'Bearer realm="http://{fake.host}/token",service="fake"'}

    def protected(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("Authorization") != "Bearer t0k3n":
            send(h, 401, b"", headers=challenge)
        else:
            send(h, 200, manifest, OCI_MANIFEST)

    fake.routes[f"/v2/app/manifests/{digest}"] = protected
    fake.routes["/token?scope=repository%3Aapp%3Apull&service=fake"] = lambda h: send(
        h, 200, b'{"token": "t0k3n", "expires_in": 300}'
    )
    now = [0.0]
    client = RegistryClient(client_for(fake).options, auth=Authenticator(clock=lambda: now[0]))
    for _ in range(3):
        client.cache = type(client.cache)()  # forget the manifest, not the token
        client.manifest(ref(fake, digest), digest, Deadline.after(5))
    assert fake.hits[("GET", "/token?scope=repository%3Aapp%3Apull&service=fake")] == 1
    now[0] = 1000.0  # past expiry: a new token
    client.cache = type(client.cache)()
    client.manifest(ref(fake, digest), digest, Deadline.after(5))
    assert fake.hits[("GET", "/token?scope=repository%3Aapp%3Apull&service=fake")] == 2


def test_compressed_answers_are_hashed_as_served(fake: FakeRegistry) -> None:
    digest, manifest = fake.image("app", CONFIG)
    seen: list[str | None] = []

    def gzipped(h: BaseHTTPRequestHandler) -> None:
        seen.append(h.headers.get("Accept-Encoding"))
        send(h, 200, gzip.compress(manifest), OCI_MANIFEST, {"Content-Encoding": "gzip"})

    fake.routes[f"/v2/app/manifests/{digest}"] = gzipped
    expect_error(
        lambda: client_for(fake).manifest(ref(fake, digest), digest, Deadline.after(5)),
        "does not match its digest",
        5,
    )
    assert seen == ["identity"]
