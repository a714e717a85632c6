"""The attestation payload: byte-exact as gcloud makes it, and parsed strictly."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.attest.payload import PAYLOAD_TYPE, Payload, PayloadError, build_payload, parse_payload
from gate.reference import parse_reference

DIGEST = "sha256:" + "0123456789abcdef" * 4

# What `gcloud container binauthz create-signature-payload --artifact-url=...` prints.
GCLOUD = (
    "{\n"
    '  "critical": {\n'
    '    "identity": {\n'
    '      "docker-reference": "us-docker.pkg.dev/acme/apps/api"\n'
    "    },\n"
    '    "image": {\n'
    f'      "docker-manifest-digest": "{DIGEST}"\n'
    "    },\n"
    '    "type": "Google cloud binauthz container signature"\n'
    "  }\n"
    "}\n"
).encode()


def test_payload_bytes_are_exactly_gclouds() -> None:
    assert build_payload(parse_reference(f"us-docker.pkg.dev/acme/apps/api@{DIGEST}")) == GCLOUD


def test_the_tag_is_dropped_from_the_docker_reference() -> None:
    ref = parse_reference(f"us-docker.pkg.dev/acme/apps/api:1.4.2@{DIGEST}")
    assert build_payload(ref) == GCLOUD


def test_docker_hub_names_are_normalised() -> None:
    parsed = parse_payload(build_payload(parse_reference(f"nginx@{DIGEST}")))
    assert parsed == Payload("docker.io/library/nginx", DIGEST)


def test_a_registry_port_stays_in_the_reference() -> None:
    parsed = parse_payload(build_payload(parse_reference(f"127.0.0.1:5000/team/app:v1@{DIGEST}")))
    assert parsed.docker_reference == "127.0.0.1:5000/team/app"


@pytest.mark.parametrize(
    "image", ["gcr.io/p/app:1.0", "gcr.io/p/app", "gcr.io/p/app@sha512:" + "a" * 128]
)
def test_only_sha256_pinned_images_get_a_payload(image: str) -> None:
    with pytest.raises(PayloadError, match="not pinned to a sha256 digest") as caught:
        build_payload(parse_reference(image))
    assert "digest" in caught.value.hint


def test_the_payload_is_ascii_json_with_a_final_newline() -> None:
    data = build_payload(parse_reference(f"gcr.io/p/app@{DIGEST}"))
    assert data.endswith(b"}\n") and data.isascii()
    assert json.loads(data)["critical"]["type"] == PAYLOAD_TYPE


def test_parse_accepts_other_layouts_of_the_same_document() -> None:
    compact = json.dumps(json.loads(GCLOUD), separators=(",", ":")).encode()
    assert parse_payload(compact) == Payload("us-docker.pkg.dev/acme/apps/api", DIGEST)


def test_matches_requires_the_same_repository_and_digest() -> None:
    payload = parse_payload(GCLOUD)
    assert payload.matches(parse_reference(f"us-docker.pkg.dev/acme/apps/api:any@{DIGEST}"))
    assert not payload.matches(parse_reference(f"us-docker.pkg.dev/acme/apps/web@{DIGEST}"))
    other = "sha256:" + "f" * 64
    assert not payload.matches(parse_reference(f"us-docker.pkg.dev/acme/apps/api@{other}"))


def _doc(
    reference: object = "gcr.io/p/app", digest: object = DIGEST, kind: object = PAYLOAD_TYPE
) -> bytes:
    critical = {
        "identity": {"docker-reference": reference},
        "image": {"docker-manifest-digest": digest},
        "type": kind,
    }
    return json.dumps({"critical": critical}).encode()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "no 'critical' object"),
        (b'{"critical": {"type": "Google cloud binauthz container signature"}}', "no 'identity'"),
        (_doc(kind="atomic container signature"), "payload type"),
        (_doc(reference="gcr.io/p/app:1.0"), "carries a tag or digest"),
        (_doc(reference=f"gcr.io/p/app@{DIGEST}"), "carries a tag or digest"),
        (_doc(reference=""), "no docker-reference"),
        (_doc(reference=7), "no docker-reference"),
        (_doc(digest="sha256:abc"), "not sha256"),
        (_doc(digest="sha512:" + "a" * 128), "not sha256"),
        (_doc(digest=DIGEST.upper()), "not sha256"),
        (
            GCLOUD.replace(b'"type"', b'"image": {"docker-manifest-digest": "x"},\n    "type"'),
            "repeats key 'image'",
        ),
    ],
)
def test_parse_rejects_anything_else(data: bytes, words: str) -> None:
    with pytest.raises(PayloadError, match=words) as caught:
        parse_payload(data)
    assert caught.value.hint


_component = st.from_regex(r"[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,8}){0,2}", fullmatch=True)


@settings(max_examples=40, deadline=None)
@given(
    host=st.sampled_from(["gcr.io", "us-docker.pkg.dev", "localhost:5000", "registry.example"]),
    path=st.lists(_component, min_size=1, max_size=4),
    hex_digest=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
)
def test_build_then_parse_round_trips(host: str, path: list[str], hex_digest: str) -> None:
    ref = parse_reference(f"{host}/{'/'.join(path)}@sha256:{hex_digest}")
    parsed = parse_payload(build_payload(ref))
    assert parsed.matches(ref)
    assert parsed.docker_reference == ref.name
