"""Body limits hold for every transfer encoding (issue 12, item 5), over real HTTPS: a chunked
body over ``GATE_MAX_BODY`` gets 413 like a sized one (before, gunicorn cut a chunked body at
16 MiB and evaluated the rest); a body that stalls gets 408; every error answer of the
webhook is JSON with ``error`` and ``hint``, like the API's."""

from __future__ import annotations

import http.client
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.webhook.reviews import COMPLIANT, review, workload
from tests.webhook.server import ServedGate, Tls, make_tls

LIMIT = 16 * 1024 * 1024  # the default GATE_MAX_BODY
BODY_TIMEOUT = 1.5


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def served(
    tls: Tls, compliant_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedGate]:
    metadata, scan = compliant_files
    log = tmp_path_factory.mktemp("serve") / "gate.log"
    env = {"GATE_BODY_TIMEOUT": str(BODY_TIMEOUT)}
    args = ["--metadata", str(metadata), "--scan", str(scan)]
    with ServedGate(tls, args, env=env, workers=1, log=log) as gate:
        yield gate


def connect(gate: ServedGate) -> http.client.HTTPSConnection:
    assert gate.tls is not None
    context = ssl.create_default_context(cafile=str(gate.tls.ca))
    return http.client.HTTPSConnection("127.0.0.1", gate.port, context=context, timeout=30)


def padded(size: int) -> tuple[str, bytes]:
    """A compliant review followed by whitespace up to ``size`` bytes: valid JSON at any cut."""
    body = review(workload("Pod", COMPLIANT))
    text = json.dumps(body).encode()
    return body["request"]["uid"], text + b" " * (size - len(text))


def send_chunked(gate: ServedGate, body: bytes, chunk: int = 256 * 1024) -> tuple[int, Any]:
    connection = connect(gate)
    connection.putrequest("POST", "/validate")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    for start in range(0, len(body), chunk):
        piece = body[start : start + chunk]
        connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    connection.send(b"0\r\n\r\n")
    reply = connection.getresponse()
    answer = json.loads(reply.read())
    connection.close()
    return reply.status, answer


def assert_json_error(answer: Any, *words: str) -> None:
    assert set(answer) >= {"error", "hint"}, answer
    text = f"{answer['error']} {answer['hint']}"
    assert all(word in text for word in words), answer


def test_a_chunked_body_over_the_limit_is_413(served: ServedGate) -> None:
    _, body = padded(LIMIT + 1024 * 1024)
    status, answer = send_chunked(served, body)
    assert status == 413, answer
    assert_json_error(answer, "GATE_MAX_BODY", str(LIMIT))


def test_a_sized_body_over_the_limit_is_413(served: ServedGate) -> None:
    _, body = padded(LIMIT + 1)
    connection = connect(served)
    connection.request("POST", "/validate", body, {"Content-Type": "application/json"})
    reply = connection.getresponse()
    assert reply.status == 413
    assert_json_error(json.loads(reply.read()), "GATE_MAX_BODY")


def test_a_chunked_body_within_the_limit_is_answered(served: ServedGate) -> None:
    uid, body = padded(2 * 1024 * 1024)
    status, answer = send_chunked(served, body, chunk=1000)
    assert status == 200, answer
    assert answer["response"]["uid"] == uid and answer["response"]["allowed"] is True


def test_a_stalled_body_is_408(served: ServedGate) -> None:
    connection = connect(served)
    connection.putrequest("POST", "/validate")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", "1000")
    connection.endheaders(b'{"apiVersion": ')
    started = time.monotonic()
    reply = connection.getresponse()
    assert reply.status == 408
    assert time.monotonic() - started < BODY_TIMEOUT + 3
    assert_json_error(json.loads(reply.read()), "GATE_BODY_TIMEOUT")


@pytest.mark.parametrize(
    ("method", "path", "status", "word"),
    [
        ("GET", "/nothing", 404, "/validate"),
        ("GET", "/validate", 405, "POST"),
        ("POST", "/healthz", 405, "GET"),
    ],
)
def test_other_errors_are_json(
    served: ServedGate, method: str, path: str, status: int, word: str
) -> None:
    reply = served.session.request(method, f"{served.url}{path}", timeout=10)
    assert reply.status_code == status and reply.headers["Content-Type"] == "application/json"
    assert_json_error(reply.json(), word)
