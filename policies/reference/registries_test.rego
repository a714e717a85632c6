package gate.policies.registries_test

import data.gate.policies.registries

_reference(name) := {
	"original": name,
	"registry": split(name, "/")[0],
	"repository": substring(name, count(split(name, "/")[0]) + 1, -1),
	"name": name,
	"tag": "1",
	"digest": null,
	"normalized": concat(":", [name, "1"]),
}

_approved := ["europe-west1-docker.pkg.dev/my-project/**", "gcr.io/distroless/*"]

test_default_approves_artifact_registry if {
	count(registries.violation) == 0 with input.image.reference as _reference("us-docker.pkg.dev/p/r/i")
	count(registries.violation) == 1 with input.image.reference as _reference("docker.io/library/nginx")
}

test_approved_patterns_come_from_data_json if {
	registries.approved == data.gate.params.registries.approved
	registries.approved == ["*-docker.pkg.dev/**"]
}

test_without_approved_patterns_nothing_is_approved if {
	every params in [{}, {"registries": {}}, {"registries": {"approved": null}}, {"registries": {"approved": "x/**"}}] {
		registries.approved == [] with data.gate.params as params
		count(registries.violation) == 1 with input.image.reference as _reference("us-docker.pkg.dev/p/r/i")
			with data.gate.params as params
	}
}

test_approved_names_pass if {
	approved := _reference("europe-west1-docker.pkg.dev/my-project/repo/app")
	count(registries.violation) == 0 with input.image.reference as approved
		with data.gate.params.registries.approved as _approved

	count(registries.violation) == 0 with input.image.reference as _reference("gcr.io/distroless/static")
		with data.gate.params.registries.approved as _approved
}

test_unapproved_names_are_violations if {
	other := _reference("europe-west1-docker.pkg.dev/other-project/repo/app")
	violations := registries.violation with input.image.reference as other
		with data.gate.params.registries.approved as _approved

	violations == {{
		"msg": concat("", [
			"image europe-west1-docker.pkg.dev/other-project/repo/app:1 is not from an approved registry: ",
			"'europe-west1-docker.pkg.dev/other-project/repo/app' matches none of the approved patterns ",
			"'europe-west1-docker.pkg.dev/my-project/**', 'gcr.io/distroless/*'; ",
			"expected an image whose registry/repository matches one of them",
		]),
		"image": "europe-west1-docker.pkg.dev/other-project/repo/app:1",
		"platform": "",
		"container": "",
	}}
}

test_one_segment_star_does_not_span_segments if {
	count(registries.violation) == 1 with input.image.reference as _reference("gcr.io/distroless/static/extra")
		with data.gate.params.registries.approved as _approved
}

test_lookalike_hosts_are_not_approved if {
	count(registries.violation) == 1 with input.image.reference as _reference("us-docker.pkg.dev.evil.example/p/r/i")
	count(registries.violation) == 1 with input.image.reference as _reference("evil.example/us-docker.pkg.dev/p/r/i")
}

test_no_approved_patterns_approves_nothing if {
	some v in registries.violation with input.image.reference as _reference("us-docker.pkg.dev/p/r/i")
		with data.gate.params.registries.approved as []

	contains(v.msg, "(no approved patterns are configured)")
}

test_missing_name_fails_closed if {
	count(registries.violation) == 1 with input as {}
}
