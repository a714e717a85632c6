package gate.policies.provenance_subject_test

import data.gate.policies.provenance_subject

_digest := "sha256:1111111111111111111111111111111111111111111111111111111111111111"

_platform_digest := "sha256:2222222222222222222222222222222222222222222222222222222222222222"

_other := "sha256:9999999999999999999999999999999999999999999999999999999999999999"

_image := "us-docker.pkg.dev/p/r/app@sha256:1111111111111111111111111111111111111111111111111111111111111111"

_statement(digests) := {
	"predicate_type": "https://slsa.dev/provenance/v1",
	"builder_id": "https://cloudbuild.googleapis.com/GoogleHostedWorker",
	"build_type": "t",
	"source": {"repository": "", "revision": "", "ref": ""},
	"subjects": [{"name": "n", "digest": d} | some d in digests],
	"origin": "registry",
	"verified_by": {"key": "ni:///sha-256;k", "identity": null},
}

_platform := {"os": "linux", "architecture": "amd64", "variant": "", "manifest_digest": _platform_digest}

_reference := {"digest": _digest, "normalized": _image, "original": _image}

_input(statements) := {
	"schema_version": "gate.input/v1",
	"entry_point": "attest",
	"evaluated_at": "2026-01-01T00:00:00Z",
	"image": {
		"reference": _reference,
		"platforms": [_platform],
		"vulnerabilities": null, "attestations": [],
		"provenance": statements, "signatures": [], "unverified": [],
	},
	"workload": null,
}

test_off_by_default if {
	count(provenance_subject.violation) == 0 with input as _input([_statement([_other])])
}

test_statements_about_the_image_or_a_platform_pass if {
	doc := _input([_statement([_digest]), _statement([_platform_digest]), _statement([_other, _digest])])
	count(provenance_subject.violation) == 0 with input as doc
		with data.gate.params.provenance_subject.enabled as true
}

test_a_statement_about_another_digest_is_refused if {
	expected := {{
		"msg": concat("", [
			"image ", _image, " carries provenance from https://cloudbuild.googleapis.com/GoogleHostedWorker ",
			"(from registry, verified by key ni:///sha-256;k) about ", _other,
			"; expected its subject to be the image's digest ", _digest, " or ", _platform_digest,
		]),
		"image": _image,
		"platform": "",
		"container": "",
	}}
	provenance_subject.violation == expected with input as _input([_statement([_other])])
		with data.gate.params.provenance_subject.enabled as true
}

test_a_statement_without_subject_is_refused if {
	some v in provenance_subject.violation with input as _input([_statement([])])
		with data.gate.params.provenance_subject.enabled as true
	contains(v.msg, "about no subject")
}

test_no_provenance_is_not_this_policys_concern if {
	count(provenance_subject.violation) == 0 with input as _input([])
		with data.gate.params.provenance_subject.enabled as true
}
