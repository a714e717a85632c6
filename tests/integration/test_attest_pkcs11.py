"""PKCS#11 signing against a real SoftHSM2 token (Debian ``softhsm2``).

The token is made with ``softhsm2-util --init-token`` under a SOFTHSM2_CONF in a temporary
folder, and the keys are generated through python-pkcs11 itself. Signatures are verified
independently with ``cryptography``; key ids are checked against ``openssl``'s.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.attest.payload import build_payload
from gate.attest.signers import SignerOptions, load_signer, parse_pkcs11_uri
from gate.attest.signers.interface import SignerError
from gate.attest.signers.pkcs11 import Pkcs11Config, Pkcs11Signer
from gate.attest.verify import verify_image
from tests.conftest import require, require_module, require_tool
from tests.integration.attest_env import GoogleApis, google_apis, image
from tests.integration.binauthz_server import verify_pkix

pkcs11 = require_module("pkcs11")
from pkcs11 import Attribute, KeyType  # noqa: E402
from pkcs11.util.ec import encode_named_curve_parameters  # noqa: E402

TOKEN, PIN, SO_PIN = "gate-test", "246810", "13579111"
PAYLOAD = build_payload(image())
MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
# label -> (key type, size or curve, id)
KEYS = {
    "ec-p256": ("ec", "secp256r1", b"\x01"),
    "ec-p384": ("ec", "secp384r1", b"\x02"),
    "ec-p521": ("ec", "secp521r1", b"\x03"),
    "rsa-2048": ("rsa", 2048, b"\x04"),
    "rsa-3072": ("rsa", 3072, b"\x05"),
}


@pytest.fixture(scope="module")
def module_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SoftHSM2 token with the KEYS, generated through python-pkcs11."""
    util = require_tool("softhsm2-util")
    path = os.environ.get("GATE_PKCS11_MODULE") or next(
        (m for m in MODULES if Path(m).is_file()), ""
    )
    require(bool(path), "libsofthsm2.so not found (scripts/ci-deps.sh installs softhsm2)")
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [util, "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", SO_PIN],
        check=True,
        capture_output=True,
    )
    library = pkcs11.lib(path)
    library.reinitialize()  # SoftHSM reads SOFTHSM2_CONF when initialised
    with library.get_token(token_label=TOKEN).open(user_pin=PIN, rw=True) as session:
        for label, (kind, size, key_id) in KEYS.items():
            if kind == "ec":
                params = session.create_domain_parameters(
                    KeyType.EC,
                    {Attribute.EC_PARAMS: encode_named_curve_parameters(size)},
                    local=True,
                )
                params.generate_keypair(store=True, label=label, id=key_id)
            else:
                session.generate_keypair(KeyType.RSA, size, store=True, label=label, id=key_id)
        # two keys with one label, for the ambiguity test
        for key_id in (b"\x10", b"\x11"):
            session.generate_keypair(KeyType.RSA, 2048, store=True, label="twin", id=key_id)
    yield path
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture
def pin_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GATE_TEST_PKCS11_PIN", PIN)
    return "GATE_TEST_PKCS11_PIN"


def config(module_path: str, pin_env: str, **kw: object) -> Pkcs11Config:
    values: dict[str, object] = {"module": module_path, "token_label": TOKEN, "pin_env": pin_env}
    return Pkcs11Config(**{**values, **kw})  # type: ignore[arg-type]


def openssl_key_id(pem: str) -> str:
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "DER"],
        input=pem.encode(),
        capture_output=True,
        check=True,
    ).stdout
    digest = subprocess.run(
        ["openssl", "dgst", "-sha256", "-binary"], input=der, capture_output=True, check=True
    ).stdout
    return "ni:///sha-256;" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


@pytest.mark.parametrize(
    ("label", "padding", "algorithm"),
    [
        ("ec-p256", "pss", "ECDSA_P256_SHA256"),
        ("ec-p384", "pss", "ECDSA_P384_SHA384"),
        ("ec-p521", "pss", "ECDSA_P521_SHA512"),
        ("rsa-2048", "pss", "RSA_PSS_2048_SHA256"),
        ("rsa-2048", "pkcs1", "RSA_SIGN_PKCS1_2048_SHA256"),
        ("rsa-3072", "pss", "RSA_PSS_3072_SHA256"),
        ("rsa-3072", "pkcs1", "RSA_SIGN_PKCS1_3072_SHA256"),
    ],
)
def test_token_keys_sign_payloads_that_verify(
    module_path: str, pin_env: str, label: str, padding: str, algorithm: str
) -> None:
    with Pkcs11Signer(config(module_path, pin_env, key_label=label, rsa_padding=padding)) as signer:
        signature = signer.sign(PAYLOAD)
        pem = signer.public_key_pem()
        assert verify_pkix(pem, algorithm, PAYLOAD, signature.signature)
        assert not verify_pkix(pem, algorithm, PAYLOAD[:-1], signature.signature)
        assert signature.public_key_id == openssl_key_id(pem)


def test_a_key_is_found_by_id_and_by_label_and_id(module_path: str, pin_env: str) -> None:
    with (
        Pkcs11Signer(config(module_path, pin_env, key_id=b"\x02")) as by_id,
        Pkcs11Signer(config(module_path, pin_env, key_label="ec-p384", key_id=b"\x02")) as both,
    ):
        assert by_id.public_key_pem() == both.public_key_pem()
        assert by_id.algorithm.name == "EC_SIGN_P384_SHA384"


def test_the_pin_can_come_from_a_file(module_path: str, tmp_path: Path) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN + "\n")
    with Pkcs11Signer(config(module_path, "", pin_file=str(pin_file), key_label="ec-p256")) as s:
        assert verify_pkix(
            s.public_key_pem(), "ECDSA_P256_SHA256", PAYLOAD, s.sign(PAYLOAD).signature
        )


def test_a_configured_public_key_id_is_used(module_path: str, pin_env: str) -> None:
    custom = "projects/gate-test/keys/hsm-1"
    with Pkcs11Signer(config(module_path, pin_env, key_label="ec-p256", public_key_id=custom)) as s:
        assert s.sign(PAYLOAD).public_key_id == custom


def test_a_wrong_pin_is_refused_without_showing_it(
    module_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATE_TEST_WRONG_PIN", "999999")
    with pytest.raises(SignerError, match="PinIncorrect") as caught:
        Pkcs11Signer(config(module_path, "GATE_TEST_WRONG_PIN", key_label="ec-p256"))
    assert "999999" not in str(caught.value) + caught.value.hint


def test_a_missing_pin_variable_is_a_clear_error(module_path: str) -> None:
    with pytest.raises(SignerError, match="GATE_TEST_UNSET_PIN is empty or unset"):
        Pkcs11Signer(config(module_path, "GATE_TEST_UNSET_PIN", key_label="ec-p256"))


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"token_label": "absent"}, "NoSuchToken"),
        ({"key_label": "absent"}, "no private key"),
        ({"key_label": "twin"}, "more than one private key"),
        ({"module": "/nonexistent/libpkcs11.so"}, "cannot open PKCS#11 token"),
    ],
)
def test_bad_token_or_key_choices_are_clear_errors(
    module_path: str, pin_env: str, changes: dict[str, str], words: str
) -> None:
    base = {"key_label": "ec-p256", **changes}
    with pytest.raises(SignerError, match=words) as caught:
        Pkcs11Signer(config(module_path, pin_env, **base))
    assert caught.value.hint


def test_a_pkcs11_uri_selects_the_key(module_path: str, pin_env: str) -> None:
    uri = (
        f"pkcs11:token={TOKEN};object=rsa-2048;id=%04?module-path={module_path}&x-pin-env={pin_env}"
    )
    with load_signer(uri, SignerOptions(rsa_padding="pkcs1")) as signer:
        assert isinstance(signer, Pkcs11Signer)
        sig = signer.sign(PAYLOAD)
        assert verify_pkix(
            signer.public_key_pem(), "RSA_SIGN_PKCS1_2048_SHA256", PAYLOAD, sig.signature
        )


def test_a_pin_in_the_uri_is_refused(module_path: str) -> None:
    with pytest.raises(SignerError, match="pin-value") as caught:
        parse_pkcs11_uri(
            f"pkcs11:token={TOKEN};object=ec-p256?module-path={module_path}&pin-value={PIN}"
        )
    assert PIN not in str(caught.value)


def test_signers_share_the_login_and_sign_from_threads(module_path: str, pin_env: str) -> None:
    first = Pkcs11Signer(config(module_path, pin_env, key_label="ec-p256"))
    second = Pkcs11Signer(config(module_path, pin_env, key_label="rsa-2048"))
    results: list[bool] = []

    def sign(signer: Pkcs11Signer, algorithm: str) -> None:
        for _ in range(5):
            sig = signer.sign(PAYLOAD).signature
            results.append(verify_pkix(signer.public_key_pem(), algorithm, PAYLOAD, sig))

    threads = [
        threading.Thread(target=sign, args=(first, "ECDSA_P256_SHA256")),
        threading.Thread(target=sign, args=(second, "RSA_PSS_2048_SHA256")),
    ] * 1
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first.close()  # the session stays logged in for the other signer
    assert verify_pkix(
        second.public_key_pem(), "RSA_PSS_2048_SHA256", PAYLOAD, second.sign(PAYLOAD).signature
    )
    second.close()
    assert results == [True] * 10
    with pytest.raises(SignerError, match="closed"):
        second.sign(PAYLOAD)


@pytest.fixture
def apis() -> Iterator[GoogleApis]:
    with google_apis() as running:
        yield running


def test_a_pkcs11_attestation_verifies_with_the_attestors_key(
    module_path: str, pin_env: str, apis: GoogleApis
) -> None:
    with Pkcs11Signer(config(module_path, pin_env, key_label="ec-p256")) as signer:
        apis.add_attestor([(signer.public_key_id, signer.public_key_pem(), "ECDSA_P256_SHA256")])
        attestations = apis.attestations()
        assert attestations.attest(image(), signer).status == "created"
        result = verify_image(
            image(), attestations.attestor, attestations.store, validator=apis.validator()
        )
        assert result.verified
        assert set(result.confirmations.values()) == {"VERIFIED"}
