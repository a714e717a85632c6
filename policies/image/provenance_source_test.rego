package gate.policies.provenance_source_test

import data.gate.policies.provenance_source

_digest := "sha256:1111111111111111111111111111111111111111111111111111111111111111"

_image := "us-docker.pkg.dev/p/r/app@sha256:1111111111111111111111111111111111111111111111111111111111111111"

_statement(repository, revision, digest) := {
	"predicate_type": "https://slsa.dev/provenance/v1",
	"builder_id": "https://cloudbuild.googleapis.com/GoogleHostedWorker",
	"build_type": "https://cloud.google.com/build/gcb-buildtypes/google-worker/v1",
	"source": {"repository": repository, "revision": revision, "ref": "refs/heads/main"},
	"subjects": [{"name": "https://us-docker.pkg.dev/p/r/app", "digest": digest}],
	"origin": "registry",
	"verified_by": {"key": "ni:///sha-256;k", "identity": null},
}

_reference := {"digest": _digest, "normalized": _image, "original": _image}

_input(statements) := {
	"schema_version": "gate.input/v1",
	"entry_point": "attest",
	"evaluated_at": "2026-01-01T00:00:00Z",
	"image": {
		"reference": _reference,
		"platforms": [], "vulnerabilities": null, "attestations": [],
		"provenance": statements, "signatures": [], "unverified": [],
	},
	"workload": null,
}

_on := {"enabled": true, "repositories": ["github.com/example/**"], "require_revision": true}

_commit := "2ce3f90facdb51aeb950d5bc641e981be61fdf48"

test_off_by_default if {
	count(provenance_source.violation) == 0 with input as _input([])
}

test_matching_repository_with_a_revision_passes if {
	doc := _input([_statement("github.com/example/app", _commit, _digest)])
	count(provenance_source.violation) == 0 with input as doc with data.gate.params.provenance_source as _on
}

test_other_repository_is_named if {
	doc := _input([_statement("github.com/evil/app", _commit, _digest)])
	expected := {{
		"msg": concat("", [
			"image ", _image, " was built from github.com/evil/app at revision ", _commit,
			"; expected a source repository matching one of github.com/example/** at a named revision (commit)",
		]),
		"image": _image,
		"platform": "",
		"container": "",
	}}
	provenance_source.violation == expected with input as doc
		with data.gate.params.provenance_source as _on
}

test_a_pattern_is_matched_by_whole_segments if {
	doc := _input([_statement("github.com/example-evil/app", _commit, _digest)])
	count(provenance_source.violation) == 1 with input as doc with data.gate.params.provenance_source as _on
}

test_revision_required if {
	doc := _input([_statement("github.com/example/app", "", _digest)])
	some v in provenance_source.violation with input as doc with data.gate.params.provenance_source as _on
	contains(v.msg, "github.com/example/app without a revision")
	optional := {"enabled": true, "repositories": ["github.com/example/**"], "require_revision": false}
	count(provenance_source.violation) == 0 with input as doc with data.gate.params.provenance_source as optional
}

test_no_provenance_denies if {
	some v in provenance_source.violation with input as _input([]) with data.gate.params.provenance_source as _on
	contains(v.msg, "has no verified build provenance naming its source")
}

test_provenance_about_another_image_does_not_count if {
	other := "sha256:9999999999999999999999999999999999999999999999999999999999999999"
	doc := _input([_statement("github.com/example/app", _commit, other)])
	count(provenance_source.violation) == 1 with input as doc with data.gate.params.provenance_source as _on
}

test_no_repository_configured_denies if {
	doc := _input([_statement("github.com/example/app", _commit, _digest)])
	some v in provenance_source.violation with input as doc with data.gate.params.provenance_source as {"enabled": true}
	contains(v.msg, "repositories is empty")
}
