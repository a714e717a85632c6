"""A private Sigstore made in the tests: a Fulcio-style CA, a CT log and a Rekor log, real keys.

What a private Sigstore deployment gives its users, built with ``cryptography`` so that
keyless bundles can be verified offline by sigstore-python under a trusted root the test
supplies: :meth:`SigstoreStack.trusted_root` writes ``trusted_root.json``
(``application/vnd.dev.sigstore.trustedroot+json;version=0.1``), and
:meth:`SigstoreStack.sign_dsse` makes a v0.3 bundle for an identity (OIDC issuer and
subject): a short-lived leaf certificate (code signing, the issuer in extension
1.3.6.1.4.1.57264.1.8) with an embedded SCT signed by the CT log over the precertificate
(RFC 6962), the DSSE envelope signed by the leaf key over the PAE, and a ``dsse/0.0.1``
Rekor entry with its signed entry timestamp and a one-leaf inclusion proof whose
checkpoint is a note signed by the log.

    >>> stack = SigstoreStack()
    >>> bundle = json.loads(stack.sign_dsse(b"{}", issuer="https://issuer.example", subject="me@example.com"))
    >>> bundle["mediaType"]
    'application/vnd.dev.sigstore.bundle.v0.3+json'
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from gate.facts.provenance.dsse import pae

ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
SCT_LIST = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _der(key: Any) -> bytes:
    return key.public_key().public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _log_id(key: Any) -> bytes:
    return hashlib.sha256(_der(key)).digest()


def _utf8_string(text: str) -> bytes:
    raw = text.encode()
    assert len(raw) < 128
    return bytes([0x0C, len(raw)]) + raw


class SigstoreStack:
    def __init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.rekor_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gate-test"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "gate-test fulcio")])  # fmt: skip
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(EPOCH)
            .not_valid_after(EPOCH + dt.timedelta(days=3650 * 3))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()), critical=False
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        self.log_index = 0

    # -- the trusted root -------------------------------------------------------------

    def trusted_root(self, folder: Path) -> Path:
        def log(key: Any, url: str) -> dict[str, Any]:
            return {
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": b64(_der(key)),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": "2020-01-01T00:00:00Z"},
                },
                "logId": {"keyId": b64(_log_id(key))},
            }

        doc = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(self.rekor_key, "https://rekor.gate-test.invalid")],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "gate-test", "commonName": "gate-test fulcio"},
                    "uri": "https://fulcio.gate-test.invalid",
                    "certChain": {
                        "certificates": [
                            {"rawBytes": b64(self.ca.public_bytes(serialization.Encoding.DER))}
                        ]
                    },
                    "validFor": {"start": "2020-01-01T00:00:00Z"},
                }
            ],
            "ctlogs": [log(self.ct_key, "https://ctfe.gate-test.invalid")],
            "timestampAuthorities": [],
        }
        path = folder / "trusted_root.json"
        path.write_text(json.dumps(doc))
        return path

    # -- signing ----------------------------------------------------------------------

    def certificate(
        self, key: Any, issuer: str, subject: str, now: dt.datetime
    ) -> x509.Certificate:
        """A Fulcio-style leaf for ``subject`` (an email or a URI) with an embedded SCT."""
        san: x509.GeneralName = (
            x509.RFC822Name(subject) if "@" in subject and "://" not in subject
            else x509.UniformResourceIdentifier(subject)
        )  # fmt: skip
        serial = x509.random_serial_number()

        def builder() -> x509.CertificateBuilder:
            return (
                x509.CertificateBuilder()
                .subject_name(x509.Name([]))
                .issuer_name(self.ca.subject)
                .public_key(key.public_key())
                .serial_number(serial)
                .not_valid_before(now - dt.timedelta(minutes=1))
                .not_valid_after(now + dt.timedelta(minutes=10))
                .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), critical=False)
                .add_extension(x509.SubjectAlternativeName([san]), critical=True)
                .add_extension(x509.UnrecognizedExtension(ISSUER_V2, _utf8_string(issuer)), critical=False)
            )  # fmt: skip

        precert = builder().sign(self.ca_key, hashes.SHA256())
        sct = self._sct(precert.tbs_certificate_bytes, int(now.timestamp()) * 1000)
        tls_list = struct.pack("!H", len(sct) + 2) + struct.pack("!H", len(sct)) + sct
        value = b"\x04" + _der_length(len(tls_list)) + tls_list
        return (
            builder()
            .add_extension(x509.UnrecognizedExtension(SCT_LIST, value), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )

    def _sct(self, tbs: bytes, millis: int) -> bytes:
        issuer_key_hash = _log_id(self.ca_key)
        entry = issuer_key_hash + struct.pack("!I", len(tbs))[1:] + tbs
        signed = struct.pack("!BBQH", 0, 0, millis, 1) + entry + struct.pack("!H", 0)
        signature = self.ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return (
            struct.pack("!B", 0) + _log_id(self.ct_key) + struct.pack("!QH", millis, 0)
            + struct.pack("!BBH", 4, 3, len(signature)) + signature
        )  # fmt: skip

    def sign_dsse(
        self,
        payload: bytes,
        *,
        issuer: str,
        subject: str,
        payload_type: str = "application/vnd.in-toto+json",
    ) -> bytes:
        """A v0.3 Sigstore bundle of a DSSE envelope signed by ``subject`` via ``issuer``."""
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.certificate(key, issuer, subject, now)
        signature = key.sign(pae(payload_type, payload), ec.ECDSA(hashes.SHA256()))
        envelope = {"payload": b64(payload), "payloadType": payload_type,
                    "signatures": [{"sig": b64(signature), "keyid": ""}]}  # fmt: skip
        pem = cert.public_bytes(serialization.Encoding.PEM)
        body = json.dumps({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(json.dumps(envelope).encode()).hexdigest()},
                "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
                "signatures": [{"signature": b64(signature), "verifier": b64(pem)}],
            },
        }).encode()  # fmt: skip
        return json.dumps({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "certificate": {"rawBytes": b64(cert.public_bytes(serialization.Encoding.DER))},
                "tlogEntries": [self._entry(body, int(now.timestamp()))],
            },
            "dsseEnvelope": envelope,
        }).encode()  # fmt: skip

    def _entry(self, body: bytes, integrated: int) -> dict[str, Any]:
        index, self.log_index = self.log_index, self.log_index + 1
        log_id = _log_id(self.rekor_key)
        promise = rfc8785.dumps({"body": b64(body), "integratedTime": integrated,
                                 "logID": log_id.hex(), "logIndex": index})  # fmt: skip
        root = hashlib.sha256(b"\x00" + body).digest()  # a one-leaf tree: the leaf is the root
        note = f"rekor.gate-test.invalid - 1\n1\n{b64(root)}\n"
        note_signature = self.rekor_key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = f"{note}\n\u2014 rekor.gate-test.invalid {b64(log_id[:4] + note_signature)}\n"
        return {
            "logIndex": str(index),
            "logId": {"keyId": b64(log_id)},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"},
            "integratedTime": str(integrated),
            "inclusionPromise": {
                "signedEntryTimestamp": b64(self.rekor_key.sign(promise, ec.ECDSA(hashes.SHA256())))
            },
            "inclusionProof": {
                "logIndex": "0",
                "rootHash": b64(root),
                "treeSize": "1",
                "hashes": [],
                "checkpoint": {"envelope": checkpoint},
            },
            "canonicalizedBody": b64(body),
        }


def _der_length(length: int) -> bytes:
    if length < 128:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw
