"""Algorithms, key ids, the local signer, key specs and the attestor checks, offline.

Signatures made by gate are verified here with ``cryptography`` directly, and key ids
are recomputed from the DER with ``hashlib``, not with gate's helpers.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from gate.attest.algorithms import ALGORITHMS, KeyMaterialError, algorithm, rfc6920_key_id
from gate.attest.attestor import (
    AttestationError,
    Attestor,
    AttestorKey,
    check_attestation,
    check_signer,
)
from gate.attest.payload import build_payload
from gate.attest.signers import SignerError, SignerOptions, load_signer, parse_pkcs11_uri
from gate.attest.signers.kms import KmsSigner
from gate.attest.signers.local import LocalKeySigner
from gate.errors import ConfigError
from gate.facts.google import GoogleEndpoint
from gate.reference import parse_reference

REF = parse_reference("gcr.io/acme/api@sha256:" + "4" * 64)
PAYLOAD = build_payload(REF)
EC_KEYS = {
    256: ec.generate_private_key(ec.SECP256R1()),
    384: ec.generate_private_key(ec.SECP384R1()),
    521: ec.generate_private_key(ec.SECP521R1()),
}
RSA_2048 = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_file(tmp_path: Path, key: object, password: bytes | None = None) -> Path:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    data = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    path = tmp_path / "key.pem"
    path.write_bytes(data)
    return path


def independent_verify(key: object, name: str, signature: bytes) -> None:
    """Raises InvalidSignature unless ``signature`` is valid; uses cryptography only."""
    chosen = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[name[-3:]]
    public = key.public_key()  # type: ignore[attr-defined]
    if name.startswith("EC"):
        public.verify(signature, PAYLOAD, ec.ECDSA(chosen))
    elif "PSS" in name:
        public.verify(
            signature, PAYLOAD, padding.PSS(padding.MGF1(chosen), chosen.digest_size), chosen
        )
    else:
        public.verify(signature, PAYLOAD, padding.PKCS1v15(), chosen)


def test_binauthz_and_kms_names_are_aliases() -> None:
    assert algorithm("ECDSA_P256_SHA256") is algorithm("EC_SIGN_P256_SHA256")
    assert algorithm("RSA_PSS_4096_SHA512") is algorithm("RSA_SIGN_PSS_4096_SHA512")
    assert {a.family for a in ALGORITHMS.values()} == {"ec", "rsa-pss", "rsa-pkcs1"}


@pytest.mark.parametrize(
    "name", ["EC_SIGN_SECP256K1_SHA256", "EC_SIGN_ED25519", "RSA_SIGN_RAW_PKCS1_2048", "PGP"]
)
def test_algorithms_binary_authorization_cannot_verify_are_refused(name: str) -> None:
    with pytest.raises(KeyMaterialError, match="not supported") as caught:
        algorithm(name)
    assert "EC_SIGN_P256_SHA256" in caught.value.hint


def test_a_key_of_the_wrong_size_does_not_fit() -> None:
    with pytest.raises(KeyMaterialError, match="does not fit"):
        algorithm("EC_SIGN_P384_SHA384").check_key(EC_KEYS[256].public_key())
    with pytest.raises(KeyMaterialError, match="does not fit"):
        algorithm("RSA_SIGN_PSS_3072_SHA256").check_key(RSA_2048.public_key())


def test_rfc6920_key_id_is_sha256_of_the_der_spki() -> None:
    key = EC_KEYS[256].public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
    assert rfc6920_key_id(key) == f"ni:///sha-256;{expected}"
    assert "=" not in rfc6920_key_id(key) and len(expected) == 43


@pytest.mark.parametrize(
    ("key", "padding_name", "hash_name", "name"),
    [
        (EC_KEYS[256], "pss", "", "EC_SIGN_P256_SHA256"),
        (EC_KEYS[384], "pss", "", "EC_SIGN_P384_SHA384"),
        (EC_KEYS[521], "pss", "", "EC_SIGN_P521_SHA512"),
        (RSA_2048, "pss", "", "RSA_SIGN_PSS_2048_SHA256"),
        (RSA_2048, "pkcs1", "", "RSA_SIGN_PKCS1_2048_SHA256"),
    ],
)
def test_local_key_signatures_verify_independently(
    tmp_path: Path, key: object, padding_name: str, hash_name: str, name: str
) -> None:
    signer = LocalKeySigner.from_file(
        pem_file(tmp_path, key), rsa_padding=padding_name, hash_name=hash_name
    )
    assert signer.algorithm.name == name
    signature = signer.sign(PAYLOAD)
    independent_verify(key, name, signature.signature)
    with pytest.raises(InvalidSignature):
        independent_verify(key, name, signature.signature[:-2] + b"\x00\x00")
    assert signature.public_key_id == rfc6920_key_id(key.public_key())  # type: ignore[attr-defined]


def test_an_encrypted_local_key_reads_its_password_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = pem_file(tmp_path, EC_KEYS[256], password=b"s3cret")
    with pytest.raises(SignerError, match="password is wrong"):
        LocalKeySigner.from_file(path)
    monkeypatch.setenv("GATE_TEST_KEY_PASSWORD", "s3cret")
    signer = load_signer(f"file:{path}", SignerOptions(password_env="GATE_TEST_KEY_PASSWORD"))
    independent_verify(EC_KEYS[256], "EC_SIGN_P256_SHA256", signer.sign(PAYLOAD).signature)


def test_unusable_local_keys_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SignerError, match="cannot read private key file"):
        LocalKeySigner.from_file(tmp_path / "absent.pem")
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(SignerError, match="not a usable PEM private key"):
        LocalKeySigner.from_file(tmp_path / "junk.pem")
    with pytest.raises(SignerError, match="Ed25519PrivateKey"):
        LocalKeySigner.from_file(pem_file(tmp_path, ed25519.Ed25519PrivateKey.generate()))


def test_key_specs_choose_the_signer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = pem_file(tmp_path, EC_KEYS[384])
    assert isinstance(load_signer(str(path)), LocalKeySigner)
    spec = "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/3"
    local = GoogleEndpoint(api_endpoint="127.0.0.1:9", plaintext=True, anonymous=True)
    with load_signer(spec, SignerOptions(kms_endpoint=local)) as kms:
        assert isinstance(kms, KmsSigner)
    # the default endpoint is TLS with Application Default Credentials: none here
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "absent.json"))
    with pytest.raises(ConfigError, match="credentials") as caught:
        load_signer(spec)
    assert "application-default login" in caught.value.hint


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("pkcs11:object=a?module-path=/m.so&x-pin-env=P", "no token="),
        ("pkcs11:token=t;object=a?x-pin-env=P", "no PKCS#11 module"),
        ("pkcs11:token=t;object?module-path=/m.so", "has no value"),
        ("pkcs11:token=t;object=a;pin-value=1234?module-path=/m.so", "pin-value"),
    ],
)
def test_bad_pkcs11_uris_are_refused(uri: str, words: str) -> None:
    with pytest.raises(SignerError, match=words) as caught:
        parse_pkcs11_uri(uri)
    assert "1234" not in str(caught.value)


def test_pkcs11_uri_pin_sources() -> None:
    config = parse_pkcs11_uri(
        "pkcs11:token=My%20Token;object=k?module-path=/m.so&pin-source=file:/run/pin"
    )
    assert (config.token_label, config.pin_file, config.pin_env) == ("My Token", "/run/pin", "")
    fallback = parse_pkcs11_uri("pkcs11:token=t;object=k", module="/m.so", pin_env="HSM_PIN")
    assert (fallback.module, fallback.pin_env) == ("/m.so", "HSM_PIN")


def _attestor(*signers: LocalKeySigner) -> Attestor:
    keys = tuple(
        AttestorKey.from_pem(s.public_key_id, s.public_key_pem(), s.algorithm.name) for s in signers
    )
    return Attestor("projects/p/attestors/a", "projects/p/notes/n", keys)


def test_check_signer_and_check_attestation() -> None:
    signer = LocalKeySigner(EC_KEYS[256])
    stranger = LocalKeySigner(EC_KEYS[384])
    attestor = _attestor(signer)
    assert check_signer(attestor, signer).id == signer.public_key_id
    with pytest.raises(AttestationError, match="not one of the keys"):
        check_signer(attestor, stranger)
    good = signer.sign(PAYLOAD)
    assert check_attestation(PAYLOAD, [(good.signature, good.public_key_id)], REF, attestor).valid
    by_stranger = stranger.sign(PAYLOAD)
    result = check_attestation(
        PAYLOAD, [(by_stranger.signature, by_stranger.public_key_id)], REF, attestor
    )
    assert not result.valid and "not a key of" in result.reasons[0]
    assert not check_attestation(PAYLOAD, [], REF, attestor).valid
    assert not check_attestation(b"{}", [(good.signature, good.public_key_id)], REF, attestor).valid
    other = parse_reference("gcr.io/acme/api@sha256:" + "5" * 64)
    assert not check_attestation(
        PAYLOAD, [(good.signature, good.public_key_id)], other, attestor
    ).valid


def test_an_rsa_pss_signature_does_not_pass_as_pkcs1() -> None:
    pss = LocalKeySigner(RSA_2048, rsa_padding="pss")
    pkcs1_view = LocalKeySigner(RSA_2048, rsa_padding="pkcs1")
    attestor = _attestor(pkcs1_view)
    sig = pss.sign(PAYLOAD)
    assert not check_attestation(PAYLOAD, [(sig.signature, sig.public_key_id)], REF, attestor).valid
    with pytest.raises(AttestationError, match="expects RSA_SIGN_PKCS1_2048_SHA256"):
        check_signer(attestor, pss)
