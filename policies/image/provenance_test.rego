package gate.policies.provenance_test

import data.gate.policies.provenance

_digest := "sha256:1111111111111111111111111111111111111111111111111111111111111111"

_reference := {
	"original": "us-docker.pkg.dev/p/r/app@sha256:1111111111111111111111111111111111111111111111111111111111111111",
	"registry": "us-docker.pkg.dev",
	"repository": "p/r/app",
	"name": "us-docker.pkg.dev/p/r/app",
	"tag": null,
	"digest": _digest,
	"normalized": "us-docker.pkg.dev/p/r/app@sha256:1111111111111111111111111111111111111111111111111111111111111111",
}

_gcb_key := concat("/", [
	"gcpkms://projects/verified-builder/locations/global/keyRings/attestor",
	"cryptoKeys/google-hosted-worker/cryptoKeyVersions/1",
])

_statement(builder, key, digest) := {
	"predicate_type": "https://slsa.dev/provenance/v1",
	"builder_id": builder,
	"build_type": "https://cloud.google.com/build/gcb-buildtypes/google-worker/v1",
	"source": {"repository": "github.com/example/app", "revision": "2ce3f90f", "ref": "refs/heads/main"},
	"subjects": [{"name": "https://us-docker.pkg.dev/p/r/app", "digest": digest}],
	"origin": "artifact-analysis",
	"verified_by": {"key": key, "identity": null},
}

_input(statements, unverified) := {
	"schema_version": "gate.input/v1",
	"entry_point": "attest",
	"evaluated_at": "2026-01-01T00:00:00Z",
	"image": {
		"reference": _reference, "platforms": [], "vulnerabilities": null, "attestations": [],
		"provenance": statements, "signatures": [], "unverified": unverified,
	},
	"workload": null,
}

_gcb := "https://cloudbuild.googleapis.com/GoogleHostedWorker"

_on := {"enabled": true, "trusted_builders": [{"id": _gcb, "keys": [_gcb_key]}]}

test_off_by_default if {
	count(provenance.violation) == 0 with input as _input([], [])
}

test_missing_provenance_denies_and_names_what_was_not_counted if {
	unverified := [{"kind": "provenance", "origin": "registry", "reason": "DSSE envelope: no trusted key verifies it"}]
	expected := {{
		"msg": concat("", [
			"image ", _reference.normalized, " has no verified build provenance; found but not counted: ",
			"DSSE envelope: no trusted key verifies it; expected SLSA provenance from one of the trusted builders: ",
			"https://cloudbuild.googleapis.com/GoogleHostedWorker",
		]),
		"image": _reference.normalized,
		"platform": "",
		"container": "",
	}}
	provenance.violation == expected with input as _input([], unverified)
		with data.gate.params.provenance as _on
}

test_trusted_builder_passes_with_or_without_a_version if {
	count(provenance.violation) == 0 with input as _input([_statement(_gcb, _gcb_key, _digest)], [])
		with data.gate.params.provenance as _on
	versioned := concat("", [_gcb, "@v0.3"])
	count(provenance.violation) == 0 with input as _input([_statement(versioned, _gcb_key, _digest)], [])
		with data.gate.params.provenance as _on
}

test_untrusted_builder_is_named if {
	doc := _input([_statement("https://ci.evil.example/builder", _gcb_key, _digest)], [])
	some v in provenance.violation with input as doc with data.gate.params.provenance as _on
	contains(v.msg, "was built by https://ci.evil.example/builder (from artifact-analysis, verified by key gcpkms://")
}

test_a_lookalike_builder_id_does_not_match if {
	doc := _input([_statement("https://cloudbuild.googleapis.com/GoogleHostedWorkerX", _gcb_key, _digest)], [])
	count(provenance.violation) == 1 with input as doc with data.gate.params.provenance as _on
}

test_builder_keys_bind_the_builder_to_its_key if {
	doc := _input([_statement("https://cloudbuild.googleapis.com/GoogleHostedWorker", "ni:///sha-256;other", _digest)], [])
	count(provenance.violation) == 1 with input as doc with data.gate.params.provenance as _on
	any_key := {"enabled": true, "trusted_builders": [{"id": "https://cloudbuild.googleapis.com/GoogleHostedWorker"}]}
	count(provenance.violation) == 0 with input as doc with data.gate.params.provenance as any_key
}

test_provenance_about_another_image_does_not_count if {
	other := "sha256:9999999999999999999999999999999999999999999999999999999999999999"
	doc := _input([_statement("https://cloudbuild.googleapis.com/GoogleHostedWorker", _gcb_key, other)], [])
	some v in provenance.violation with input as doc with data.gate.params.provenance as _on
	contains(v.msg, "has no verified build provenance")
}

test_no_trusted_builder_configured_denies if {
	doc := _input([_statement("https://cloudbuild.googleapis.com/GoogleHostedWorker", _gcb_key, _digest)], [])
	some v in provenance.violation with input as doc with data.gate.params.provenance as {"enabled": true}
	contains(v.msg, "trusted_builders is empty")
}

test_documents_before_1_1_deny_when_enabled if {
	doc := json.remove(_input([], []), ["image/provenance", "image/unverified"])
	count(provenance.violation) == 1 with input as doc with data.gate.params.provenance as _on
}
