package gate.policies.signatures_test

import data.gate.policies.signatures

_digest := "sha256:1111111111111111111111111111111111111111111111111111111111111111"

_image := "us-docker.pkg.dev/p/r/app@sha256:1111111111111111111111111111111111111111111111111111111111111111"

_release_key := "gcpkms://projects/p/locations/global/keyRings/release/cryptoKeys/cosign/cryptoKeyVersions/1"

_by_key(key) := {
	"kind": "cosign",
	"digest": _digest,
	"origin": "registry",
	"verified_by": {"key": key, "identity": null},
}

_by_identity(issuer, subject) := {
	"kind": "sigstore-bundle",
	"digest": _digest,
	"origin": "registry",
	"verified_by": {"key": null, "identity": {"issuer": issuer, "subject": subject}},
}

_reference := {"digest": _digest, "normalized": _image, "original": _image}

_input(found, unverified) := {
	"schema_version": "gate.input/v1",
	"entry_point": "admission",
	"evaluated_at": "2026-01-01T00:00:00Z",
	"image": {
		"reference": _reference,
		"platforms": [], "vulnerabilities": null, "attestations": [],
		"provenance": [], "signatures": found, "unverified": unverified,
	},
	"workload": null,
}

_github := "https://token.actions.githubusercontent.com"

_workflow := "https://github.com/example/app/.github/workflows/release.yml@refs/heads/main"

_on := {
	"enabled": true,
	"keys": [_release_key],
	"identities": [{"issuer": _github, "subject": _workflow}],
}

test_off_by_default if {
	count(signatures.violation) == 0 with input as _input([], [])
}

test_a_required_key_passes if {
	count(signatures.violation) == 0 with input as _input([_by_key(_release_key)], [])
		with data.gate.params.signatures as _on
}

test_a_required_identity_passes if {
	count(signatures.violation) == 0 with input as _input([_by_identity(_github, _workflow)], [])
		with data.gate.params.signatures as _on
}

test_an_identity_needs_its_issuer if {
	doc := _input([_by_identity("https://accounts.google.com", _workflow)], [])
	count(signatures.violation) == 1 with input as doc with data.gate.params.signatures as _on
}

test_subject_pattern if {
	pattern := "https://github.com/example/*/.github/workflows/**"
	wanted := {"enabled": true, "identities": [{"issuer": _github, "subject_pattern": pattern}]}
	count(signatures.violation) == 0 with input as _input([_by_identity(_github, _workflow)], [])
		with data.gate.params.signatures as wanted
	other := "https://github.com/evil/app/.github/workflows/release.yml@refs/heads/main"
	count(signatures.violation) == 1 with input as _input([_by_identity(_github, other)], [])
		with data.gate.params.signatures as wanted
}

test_unsigned_image_names_what_was_not_counted if {
	reason := "cosign tag x.sig: cosign signature: no trusted key verifies it"
	unverified := [{"kind": "signature", "origin": "registry", "reason": reason}]
	expected := {{
		"msg": concat("", [
			"image ", _image, " has no verified signature; found but not counted: cosign tag x.sig: cosign signature: ",
			"no trusted key verifies it; expected a signature by one of: key ", _release_key,
			", identity ", _workflow, " (issuer ", _github, ")",
		]),
		"image": _image,
		"platform": "",
		"container": "",
	}}
	signatures.violation == expected with input as _input([], unverified)
		with data.gate.params.signatures as _on
}

test_a_signature_by_another_trusted_key_is_named if {
	doc := _input([_by_key("ni:///sha-256;ci")], [])
	some v in signatures.violation with input as doc with data.gate.params.signatures as _on
	contains(v.msg, "is signed only by key ni:///sha-256;ci; expected")
}

test_nothing_required_denies if {
	some v in signatures.violation with input as _input([_by_key(_release_key)], [])
		with data.gate.params.signatures as {"enabled": true}
	contains(v.msg, "keys and identities are empty")
}
