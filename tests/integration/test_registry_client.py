"""The registry client against a real registry: Debian's docker-registry on 127.0.0.1.

Images are built in Python and pushed with the Distribution API (tests/integration/
oci_push.py). What reached the registry is counted from its access log.
"""

from __future__ import annotations

import gc
import hashlib
import json
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.facts.registry import (
    Authenticator,
    ClientOptions,
    CredentialStore,
    Deadline,
    DockerConfig,
    GoogleADC,
    RegistryClient,
    RegistryError,
    TransportOptions,
    fetch_platforms,
)
from gate.facts.registry.cache import ContentCache, TagCache
from gate.facts.registry.client import manifest_weight
from gate.facts.registry.manifest import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    parse_manifest,
)
from gate.reference import parse_reference
from tests.conftest import REPO_ROOT, require, require_module, require_tool
from tests.integration.oci_push import (
    OCI_CONFIG,
    OCI_LAYER,
    Pushed,
    Pusher,
    attestation_entry,
    canonical,
    digest_of,
    image_config,
    index_entry,
    layer,
    push_image,
    push_index,
    push_index_of,
)
from tests.integration.registry_server import RegistryServer
from tests.integration.token_issuer import TokenIssuer

pytestmark = pytest.mark.integration
ARM64 = {"os": "linux", "architecture": "arm64", "variant": "v8"}
AMD64 = {"os": "linux", "architecture": "amd64"}


def started(server: RegistryServer) -> RegistryServer:
    try:
        return server.start()
    except (OSError, RuntimeError) as exc:
        require(False, f"cannot start docker-registry: {exc}")
        raise AssertionError("unreachable") from exc


@pytest.fixture(scope="module")
def binary() -> str:
    return require_tool("docker-registry", "GATE_DOCKER_REGISTRY")


@pytest.fixture(scope="module")
def registry(binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = started(RegistryServer(binary, tmp_path_factory.mktemp("registry")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def basic_registry(
    binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    folder = tmp_path_factory.mktemp("registry-basic")
    htpasswd = require_tool("htpasswd")
    server = started(RegistryServer(binary, folder, users={"alice": "s3cret"}, htpasswd=htpasswd))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def token_registry(
    binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    folder = tmp_path_factory.mktemp("registry-token")
    issuer = TokenIssuer(folder, {"bob": "hunter2", "oauth2accesstoken": "ya29.fake-adc"}).start()
    server = started(RegistryServer(binary, folder, issuer=issuer))
    yield server
    server.stop()
    issuer.stop()


def client_for(
    server: RegistryServer, auth: Authenticator | None = None, **options: Any
) -> RegistryClient:
    hosts = (server.host, *([server.issuer.host] if server.issuer else []))
    transport = TransportOptions(insecure_hosts=hosts)
    return RegistryClient(
        ClientOptions(
            approved=(f"{server.host}/**",), transport=transport, token_hosts=hosts, **options
        ),
        auth=auth,
    )


def authenticator(tmp_path: Path, config: dict[str, Any], provider: Any = None) -> Authenticator:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    store = CredentialStore(DockerConfig.load(path), provider)
    return Authenticator(store)


def multi_arch(pusher: Pusher, repo: str, tag: str, *, docker: bool = False) -> tuple[Pushed, ...]:
    amd = push_image(pusher, repo, image_config(user="65532", architecture="amd64"), docker=docker)
    arm = push_image(
        pusher, repo, image_config(user="root", architecture="arm64", variant="v8"), docker=docker
    )
    index = push_index(
        pusher,
        repo,
        [(amd, AMD64), (arm, ARM64)],
        tag=tag,
        docker=docker,
        attestation_for=None if docker else amd,
        artifact=not docker,
    )
    return index, amd, arm


def platform_schema() -> dict[str, Any]:
    schema = json.loads((REPO_ROOT / "gate" / "schema" / "input.schema.json").read_text())
    return {**schema["$defs"]["platform"], "$defs": schema["$defs"]}


def test_multi_arch_image_names_arm64_running_as_root(registry: RegistryServer) -> None:
    jsonschema = require_module("jsonschema")
    index, amd, arm = multi_arch(Pusher(registry.url), "team/app", "1.0")
    facts = fetch_platforms(
        client_for(registry), parse_reference(f"{registry.host}/team/app:1.0"), Deadline.after(10)
    )
    assert facts.digest == index.digest and facts.media_type == OCI_INDEX
    assert facts.reference.digest == index.digest
    found = facts.to_input()
    assert [(p["architecture"], p["variant"], p["config"]["user"]) for p in found] == [
        ("amd64", "", "65532"),
        ("arm64", "v8", "root"),
    ]  # the attestation and the signature artifact are skipped
    assert [p["manifest_digest"] for p in found] == [amd.digest, arm.digest]
    assert {p["media_type"] for p in found} == {OCI_MANIFEST}
    for platform in found:
        jsonschema.validate(platform, platform_schema())


def test_platform_selection(registry: RegistryServer) -> None:
    multi_arch(Pusher(registry.url), "team/select", "1.0")
    client, reference = client_for(registry), parse_reference(f"{registry.host}/team/select:1.0")
    arm = fetch_platforms(client, reference, Deadline.after(10), platforms=["linux/arm64"])
    assert [(p.architecture, p.config["user"]) for p in arm.platforms] == [("arm64", "root")]
    with pytest.raises(RegistryError, match="no image for platform"):
        fetch_platforms(client, reference, Deadline.after(10), platforms=["linux/s390x"])


DISGUISE = {
    "artifactType": "application/vnd.example.sbom",
    "annotations": {
        "vnd.docker.reference.type": "attestation-manifest",
        "org.opencontainers.image.title": "not an image, honest",
    },
}


def test_every_entry_a_runtime_could_run_is_judged(registry: RegistryServer) -> None:
    """artifactType and annotations hide nothing: containerd selects an index entry by its
    platform alone (or, without one, by its config's). Skipped: BuildKit's attestation
    (unknown/unknown), any platform with an unknown OS or architecture, a media type that
    is not an image manifest, a platform-less artifact whose config names no platform."""
    pusher, repo = Pusher(registry.url), "team/disguised"
    amd = push_image(pusher, repo, image_config(user="65532"))
    arm = push_image(pusher, repo, image_config(user="root", architecture="arm64", variant="v8"))
    bare = push_image(pusher, repo, image_config(user="1000", architecture="arm", variant="v7"))
    unknown_os = push_image(pusher, repo, image_config(user="root", os="unknown"))
    statement = pusher.blob(repo, b'{"_type":"x"}', "application/vnd.in-toto+json")
    signature = push_image(
        pusher, repo, b"{}", config_type="application/vnd.oci.empty.v1+json",
        artifact_type="application/vnd.dev.cosign.artifact.sig.v1+json",
    )  # fmt: skip
    index = push_index_of(
        pusher,
        repo,
        [
            index_entry(amd, AMD64),
            index_entry(arm, ARM64, **DISGUISE),  # an image whatever it says
            index_entry(bare, artifactType="application/vnd.example.thing"),  # config: linux/arm
            attestation_entry(pusher, repo, amd),
            index_entry(unknown_os, {"os": "unknown", "architecture": "amd64"}),
            index_entry(statement, AMD64),  # not a manifest: the runtime refuses it
            index_entry(signature, artifactType="application/vnd.dev.cosign.artifact.sig.v1+json"),
        ],
        tag="1",
    )
    reference = parse_reference(f"{registry.host}/{repo}@{index.digest}")
    facts = fetch_platforms(client_for(registry), reference, Deadline.after(10))
    found = [(p.os, p.architecture, p.variant, p.config["user"]) for p in facts.platforms]
    assert found == [
        ("linux", "amd64", "", "65532"),
        ("linux", "arm64", "v8", "root"),
        ("linux", "arm", "v7", "1000"),
    ]
    assert [p.manifest_digest for p in facts.platforms] == [amd.digest, arm.digest, bare.digest]


def test_a_platformless_artifact_whose_config_names_a_platform_is_an_error(
    registry: RegistryServer,
) -> None:
    """An image config pushed under another config media type: containerd still reads its
    platform and may run it, so gate refuses to judge around it."""
    pusher, repo = Pusher(registry.url), "team/smuggled"
    amd = push_image(pusher, repo, image_config(user="65532"))
    smuggled = push_image(
        pusher, repo, image_config(user="root", architecture="arm64"),
        config_type="application/vnd.oci.empty.v1+json", artifact_type="application/vnd.example",
    )  # fmt: skip
    index = push_index_of(
        pusher, repo, [index_entry(amd, AMD64), index_entry(smuggled, **DISGUISE)], tag="1"
    )
    reference = parse_reference(f"{registry.host}/{repo}@{index.digest}")
    facts = fetch_platforms(client_for(registry), reference, Deadline.after(10))
    # the other platform is still judged; the error joins the decision, which denies
    assert [p.manifest_digest for p in facts.platforms] == [amd.digest]
    (error,) = facts.errors
    assert f"manifest {smuggled.digest} is not a container image" in error.message


def test_docker_media_types(registry: RegistryServer) -> None:
    index, _, _ = multi_arch(Pusher(registry.url), "team/docker", "v2", docker=True)
    facts = fetch_platforms(
        client_for(registry), parse_reference(f"{registry.host}/team/docker:v2"), Deadline.after(10)
    )
    assert facts.media_type == DOCKER_LIST and facts.digest == index.digest
    assert [(p.architecture, p.media_type) for p in facts.platforms] == [
        ("amd64", DOCKER_MANIFEST),
        ("arm64", DOCKER_MANIFEST),
    ]


def test_single_manifest_by_digest_makes_no_tag_request(registry: RegistryServer) -> None:
    image = push_image(
        Pusher(registry.url), "team/single", image_config(user="", architecture="arm64")
    )
    reference = parse_reference(f"{registry.host}/team/single@{image.digest}")
    facts = fetch_platforms(client_for(registry), reference, Deadline.after(10))
    assert [(p.os, p.architecture, p.config["user"]) for p in facts.platforms] == [
        ("linux", "arm64", ""),
    ]
    assert not [r for r in registry.requests() if r[0] == "HEAD" and "team/single" in r[1]]


def test_unknown_tag_names_registry_repository_and_status(registry: RegistryServer) -> None:
    with pytest.raises(RegistryError) as info:
        fetch_platforms(
            client_for(registry),
            parse_reference(f"{registry.host}/team/none:9"),
            Deadline.after(10),
        )
    error = info.value
    assert (error.registry, error.repository, error.status) == (registry.host, "team/none", 404)
    assert "not found" in error.message and "check the repository" in error.hint


def test_oversized_config_is_refused_without_downloading_it(registry: RegistryServer) -> None:
    pusher = Pusher(registry.url)
    big = push_image(pusher, "team/big", image_config(padding=9 * 1024 * 1024))
    reference = parse_reference(f"{registry.host}/team/big@{big.digest}")
    with pytest.raises(RegistryError, match="over gate's limit of 8388608"):
        fetch_platforms(client_for(registry), reference, Deadline.after(10))
    assert not [r for r in registry.requests() if r[0] == "GET" and "team/big/blobs" in r[1]]
    small_limit = client_for(registry, max_manifest_bytes=100)
    with pytest.raises(RegistryError, match="over gate's limit of 100"):
        fetch_platforms(small_limit, reference, Deadline.after(10))


def test_an_index_of_heavy_configs_is_read_up_to_the_image_budget(
    registry: RegistryServer,
) -> None:
    """Four platforms of 7 MiB configs, each under the limit of one config, 28 MiB in all:
    gate reads two (16 MiB per image), then stops and fails closed, naming the budget."""
    pusher = Pusher(registry.url)
    platforms = []
    for i, arch in enumerate(("amd64", "arm64", "ppc64le", "s390x")):
        config = image_config(architecture=arch, padding=7 * 1024 * 1024 + i)
        platforms.append(
            (push_image(pusher, "team/heavy", config), {"os": "linux", "architecture": arch})
        )
    push_index(pusher, "team/heavy", platforms, tag="v1")
    reference = parse_reference(f"{registry.host}/team/heavy:v1")
    facts = fetch_platforms(client_for(registry), reference, Deadline.after(10))
    assert [p.architecture for p in facts.platforms] == ["amd64", "arm64"]
    (error,) = facts.errors
    assert "configs are more than gate reads for one image (16777216 bytes)" in error.message
    assert "rebuild it with fewer platforms or smaller labels" in error.hint
    registry.settle()
    reads = [r for r in registry.requests() if r[0] == "GET" and "team/heavy/blobs" in r[1]]
    assert len(reads) == 2


def test_an_index_of_too_many_images_is_refused_before_reading_them(
    registry: RegistryServer,
) -> None:
    pusher = Pusher(registry.url)
    one = push_image(pusher, "team/wide", image_config())
    entries = [
        index_entry(one, {"os": "linux", "architecture": "amd64", "variant": f"v{i}"})
        for i in range(129)
    ]
    push_index_of(pusher, "team/wide", entries, tag="v1")
    with pytest.raises(RegistryError, match=r"lists 129 images, more than gate reads .*\(128\)"):
        fetch_platforms(
            client_for(registry),
            parse_reference(f"{registry.host}/team/wide:v1"),
            Deadline.after(10),
        )
    registry.settle()
    asked = [r for r in registry.requests() if r[0] == "GET" and one.digest in r[1]]
    assert not asked


def test_a_config_of_another_size_than_its_manifest_says_is_refused(
    registry: RegistryServer,
) -> None:
    """The registry stores a manifest that understates its config's size; containerd would
    refuse the pull, and gate's per-image budget trusts the declared sizes: refused."""
    pusher = Pusher(registry.url)
    config = pusher.blob("team/liar", image_config(user="65532"), OCI_CONFIG)
    layer_blob = pusher.blob("team/liar", layer(), OCI_LAYER)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config.digest, "size": 10},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer_blob.digest, "size": layer_blob.size}],
    }
    body = canonical(manifest)
    pushed = pusher.manifest("team/liar", digest_of(body), body, OCI_MANIFEST)
    reference = parse_reference(f"{registry.host}/team/liar@{pushed.digest}")
    with pytest.raises(RegistryError, match=f"is {config.size} bytes, its manifest says 10"):
        fetch_platforms(client_for(registry), reference, Deadline.after(10))


def test_unapproved_repository_makes_no_request(registry: RegistryServer) -> None:
    image = push_image(Pusher(registry.url), "other/app", image_config())
    before = len(registry.requests())
    client = RegistryClient(
        ClientOptions(
            approved=(f"{registry.host}/team/**",),
            transport=TransportOptions(insecure_hosts=(registry.host,)),
        )
    )
    with pytest.raises(RegistryError, match="not an approved registry"):
        fetch_platforms(
            client, parse_reference(f"{registry.host}/other/app@{image.digest}"), Deadline.after(10)
        )
    registry.settle()
    assert len(registry.requests()) == before


def concurrently(count: int, work: Any) -> list[Any]:
    results: list[Any] = []
    barrier = threading.Barrier(count)

    def run() -> None:
        barrier.wait()
        try:
            results.append(work())
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_twenty_concurrent_fetches_make_one_manifest_and_one_config_fetch(
    registry: RegistryServer,
) -> None:
    config = image_config(user="root", architecture="arm64", labels={"fresh": "concurrency"})
    pusher = Pusher(registry.url)
    image = push_image(pusher, "team/hot", config)
    config_digest = pusher.blob("team/hot", config).digest
    manifest_path = f"/v2/team/hot/manifests/{image.digest}"
    config_path = f"/v2/team/hot/blobs/{config_digest}"
    registry.settle()
    assert registry.count("GET", manifest_path) == registry.count("GET", config_path) == 0
    client = client_for(registry)
    by_digest = parse_reference(f"{registry.host}/team/hot@{image.digest}")
    results = concurrently(20, lambda: fetch_platforms(client, by_digest, Deadline.after(20)))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert {r.platforms[0].config["user"] for r in results} == {"root"}
    registry.settle()
    assert registry.count("GET", manifest_path) == 1
    assert registry.count("GET", config_path) == 1


def test_twenty_concurrent_fetches_of_a_tag_share_one_resolution(registry: RegistryServer) -> None:
    index, amd, arm = multi_arch(Pusher(registry.url), "team/hot-index", "live")
    client = client_for(registry)
    reference = parse_reference(f"{registry.host}/team/hot-index:live")
    results = concurrently(20, lambda: fetch_platforms(client, reference, Deadline.after(20)))
    assert not [r for r in results if isinstance(r, Exception)], results
    registry.settle()
    assert registry.count("HEAD", "/v2/team/hot-index/manifests/live") == 1
    for digest in (index.digest, amd.digest, arm.digest):
        assert registry.count("GET", f"/v2/team/hot-index/manifests/{digest}") == 1


def test_warm_fetch_makes_no_round_trip(registry: RegistryServer) -> None:
    index, _, _ = multi_arch(Pusher(registry.url), "team/warm", "1")
    client = client_for(registry)
    reference = parse_reference(f"{registry.host}/team/warm@{index.digest}")
    cold = fetch_platforms(client, reference, Deadline.after(10))
    trips = client.stats()["round_trips"]
    # index, 2 image manifests and their configs, and the platform-less signature
    # artifact's manifest and empty config (read to tell that no runtime selects it)
    assert trips == 7
    warm = fetch_platforms(client, reference, Deadline.after(10))
    assert warm == cold and client.stats()["round_trips"] == trips


def test_basic_auth_from_docker_config(basic_registry: RegistryServer, tmp_path: Path) -> None:
    pusher = Pusher(basic_registry.url, ("alice", "s3cret"))
    image = push_image(pusher, "team/private", image_config(user="app"), tag="1")
    reference = parse_reference(f"{basic_registry.host}/team/private:1")
    auths = {"auths": {basic_registry.host: {"auth": "YWxpY2U6czNjcmV0"}}}  # alice:s3cret
    client = client_for(basic_registry, authenticator(tmp_path, auths))
    assert fetch_platforms(client, reference, Deadline.after(10)).digest == image.digest
    with pytest.raises(RegistryError) as info:
        fetch_platforms(client_for(basic_registry), reference, Deadline.after(10))
    assert info.value.status == 401 and "credentials" in info.value.hint
    assert "anonymous" in info.value.hint
    wrong = {"auths": {basic_registry.host: {"username": "alice", "password": "nope"}}}
    with pytest.raises(RegistryError, match="unauthorized"):
        fetch_platforms(
            client_for(basic_registry, authenticator(tmp_path, wrong)),
            reference,
            Deadline.after(10),
        )


def test_token_auth_with_tokens_cached(token_registry: RegistryServer, tmp_path: Path) -> None:
    assert token_registry.issuer is not None
    pusher = Pusher(token_registry.url, ("bob", "hunter2"))
    index, _, _ = multi_arch(pusher, "team/tokened", "1")
    reference = parse_reference(f"{token_registry.host}/team/tokened:1")
    config = {"auths": {token_registry.host: {"username": "bob", "password": "hunter2"}}}
    client = client_for(token_registry, authenticator(tmp_path, config))
    issued = token_registry.issuer.issued
    assert fetch_platforms(client, reference, Deadline.after(10)).digest == index.digest
    assert token_registry.issuer.issued == issued + 1  # one token for six requests
    with pytest.raises(RegistryError) as info:
        fetch_platforms(client_for(token_registry), reference, Deadline.after(10))
    assert info.value.status == 401 and info.value.registry == token_registry.host


class FakeADC:
    """Stands in for Google ADC (which would call Google's token endpoint)."""

    def __init__(self) -> None:
        self.calls = 0

    def access_token(self) -> str:
        self.calls += 1
        return "ya29.fake-adc"


def test_gcloud_credential_helper_uses_adc_tokens(
    token_registry: RegistryServer, tmp_path: Path
) -> None:
    pusher = Pusher(token_registry.url, ("bob", "hunter2"))
    image = push_image(pusher, "team/adc", image_config(user="1000"), tag="1")
    adc = FakeADC()
    auth = authenticator(tmp_path, {"credHelpers": {token_registry.host: "gcloud"}}, adc)
    client = client_for(token_registry, auth)
    facts = fetch_platforms(
        client, parse_reference(f"{token_registry.host}/team/adc:1"), Deadline.after(10)
    )
    assert facts.digest == image.digest and adc.calls >= 1


def test_credential_sources_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    adc = FakeADC()
    config = DockerConfig.from_json(
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": "dXNlcjpwdw=="},
                "gcr.io": {"auth": "YTpi"},
            },
            "credHelpers": {"europe-docker.pkg.dev": "gcloud", "ecr.example": "ecr-login"},
        }
    )
    store = CredentialStore(config, adc)
    assert (store.for_host("docker.io").username, store.for_host("docker.io").password) == (
        "user",
        "pw",
    )
    assert store.for_host("gcr.io").source == "config.json auths"  # explicit auths win
    for host in ("europe-docker.pkg.dev", "us-docker.pkg.dev", "eu.gcr.io"):
        creds = store.for_host(host)
        assert (creds.username, creds.password, creds.source) == (
            "oauth2accesstoken",
            "ya29.fake-adc",
            "Google ADC",
        )
    assert "ecr-login" in store.for_host("ecr.example").source
    assert store.for_host("ecr.example").anonymous
    assert store.for_host("quay.io").anonymous


def test_google_adc_unavailable_falls_back_to_anonymous_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import google.auth
    import google.auth.exceptions

    def no_adc(**_: Any) -> Any:
        raise google.auth.exceptions.DefaultCredentialsError("no credentials found")  # type: ignore[no-untyped-call]

    monkeypatch.setattr(google.auth, "default", no_adc)
    creds = CredentialStore(DockerConfig()).for_host("us-docker.pkg.dev")
    assert creds.anonymous and "Application Default Credentials" in creds.source


def test_google_adc_refreshes_stale_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth

    class Stale:
        valid, token, refreshed = False, None, 0

        def refresh(self, request: Any) -> None:
            self.refreshed += 1
            self.valid, self.token = True, "ya29.refreshed"

    stale = Stale()
    monkeypatch.setattr(google.auth, "default", lambda **_: (stale, "project"))
    adc = GoogleADC()
    assert adc.access_token() == adc.access_token() == "ya29.refreshed"
    assert stale.refreshed == 1


def test_content_cache_is_bounded_by_entries_and_bytes() -> None:
    cache = ContentCache(max_entries=3, max_bytes=100)
    for index in range(5):
        cache.put(("r", str(index)), b"x" * 10, 10)
    assert len(cache) == 3 and cache.get(("r", "0")) is None and cache.get(("r", "4")) is not None
    cache.put(("r", "big"), b"x" * 90, 90)
    assert cache.size <= 100 and cache.get(("r", "big")) is not None
    cache.put(("r", "huge"), b"x" * 101, 101)  # larger than the whole cache: not kept
    assert cache.get(("r", "huge")) is None and cache.get(("r", "big")) is not None


def test_a_cached_manifest_weighs_what_its_parsed_form_holds() -> None:
    """An index of 2,000 entries: the content cache charges at least what parsing it keeps."""
    entries = [
        {"mediaType": OCI_MANIFEST, "digest": f"sha256:{i:064x}", "size": 1234,
         "platform": {"os": "linux", "architecture": "amd64", "variant": f"v{i}"}}
        for i in range(2_000)
    ]  # fmt: skip
    data = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    parse_manifest(data, OCI_INDEX, digest, "r", "p")  # the first parse fills caches of its own
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        parsed = parse_manifest(data, OCI_INDEX, digest, "r", "p")
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(parsed.manifests) == 2_000
    assert held <= manifest_weight(data) <= 2 * held


def test_tag_cache_expires() -> None:
    now = [0.0]
    tags = TagCache(ttl=30, clock=lambda: now[0])
    tags.put("r/a", "1", "sha256:" + "a" * 64)
    assert tags.get("r/a", "1") == "sha256:" + "a" * 64
    now[0] = 31
    assert tags.get("r/a", "1") is None


def test_tag_cache_lets_go_of_tags_nobody_asks_for_again() -> None:
    """A new tag per build for days: expired tags go within two TTLs without being asked
    for, and no more than ``max_entries`` are kept, the oldest going first."""
    now = [0.0]
    tags = TagCache(ttl=30, clock=lambda: now[0], max_entries=100)
    digest = "sha256:" + "a" * 64
    for build in range(1_000):
        now[0] = build * 0.5
        tags.put("r/app", f"build-{build}", digest)
        assert len(tags) <= 100
    assert tags.get("r/app", "build-999") == digest
    assert tags.get("r/app", "build-800") is None  # pushed out by newer ones
    now[0] += 61
    tags.put("r/app", "next", digest)
    assert len(tags) == 1
