package gate.policies.labels_test

import data.gate.policies.labels

_reference := {
	"original": "europe-west1-docker.pkg.dev/p/r/app:1.0",
	"registry": "europe-west1-docker.pkg.dev",
	"repository": "p/r/app",
	"name": "europe-west1-docker.pkg.dev/p/r/app",
	"tag": "1.0",
	"digest": null,
	"normalized": "europe-west1-docker.pkg.dev/p/r/app:1.0",
}

_platform(arch, variant, image_labels) := {
	"os": "linux",
	"architecture": arch,
	"variant": variant,
	"manifest_digest": null,
	"media_type": "application/vnd.oci.image.manifest.v1+json",
	"config": {
		"user": "65532",
		"env": {},
		"labels": image_labels,
		"created": "2025-01-01T00:00:00Z",
		"history": [],
		"exposed_ports": [],
		"entrypoint": [],
		"cmd": [],
		"working_dir": "",
	},
}

_input(platforms) := {
	"schema_version": "gate.input/v1",
	"entry_point": "attest",
	"evaluated_at": "2025-02-01T00:00:00Z",
	"image": {"reference": _reference, "platforms": platforms, "vulnerabilities": null, "attestations": []},
	"workload": null,
}

_complete := {
	"org.opencontainers.image.source": "https://github.com/example/app",
	"org.opencontainers.image.revision": "0123abcd",
}

test_labelled_image_passes if {
	count(labels.violation) == 0 with input as _input([_platform("amd64", "", _complete)])
}

test_missing_label_is_a_violation if {
	labels.violation == {{
		"msg": concat("", [
			"image europe-west1-docker.pkg.dev/p/r/app:1.0 (linux/arm64/v8) lacks the required label ",
			"org.opencontainers.image.revision (missing or empty); expected every label in ",
			"org.opencontainers.image.source, org.opencontainers.image.revision",
		]),
		"image": "europe-west1-docker.pkg.dev/p/r/app:1.0",
		"platform": "linux/arm64/v8",
		"container": "",
	}} with input as _input([_platform("arm64", "v8", {"org.opencontainers.image.source": "https://example.com/app"})])
}

test_one_violation_per_missing_label_per_platform if {
	count(labels.violation) == 4 with input as _input([_platform("amd64", "", {}), _platform("arm64", "v8", {})])
	count(labels.violation) == 2 with input as _input([_platform("amd64", "", {}), _platform("arm64", "v8", _complete)])
}

test_empty_label_counts_as_missing if {
	empty_revision := object.union(_complete, {"org.opencontainers.image.revision": ""})
	count(labels.violation) == 1 with input as _input([_platform("amd64", "", empty_revision)])
}

test_required_parameter if {
	count(labels.violation) == 0 with input as _input([_platform("amd64", "", {})])
		with data.gate.params.labels.required as []

	count(labels.violation) == 1 with input as _input([_platform("amd64", "", _complete)])
		with data.gate.params.labels.required as ["org.opencontainers.image.licenses"]
}

test_warn_action if {
	count(labels.violation) == 0 with input as _input([_platform("amd64", "", {})])
		with data.gate.params.labels.action as "warn"

	count(labels.warning) == 2 with input as _input([_platform("amd64", "", {})])
		with data.gate.params.labels.action as "warn"
}

test_missing_labels_object if {
	bare := {"os": "linux", "architecture": "amd64", "variant": "", "config": {}}
	count(labels.violation) == 2 with input as _input([bare])
}

test_without_parameters_the_missing_list_is_reported if {
	violations := labels.violation with input as _input([_platform("amd64", "", {})])
		with data.gate.params as {}

	[v.msg | some v in violations] == [concat("", [
		"policy parameter labels.required is null, not a list of label names, so no label can be checked; ",
		"expected the parameter as in gate's data.json ([] requires nothing)",
	])]
}
