package gate.policies.tags_test

import data.gate.policies.tags

_digest := "sha256:89102e348749bb17a6a651a4b2a17420e1a66d2a44a675b981973d49a5af3a5e"

_reference(tag, dig) := {
	"original": "nginx",
	"registry": "docker.io",
	"repository": "library/nginx",
	"name": "docker.io/library/nginx",
	"tag": tag,
	"digest": dig,
	"normalized": "docker.io/library/nginx",
}

test_latest_is_a_violation if {
	tags.violation == {{
		"msg": concat("", [
			"image docker.io/library/nginx uses the disallowed tag 'latest'; ",
			"expected a digest, with a specific version tag if any (disallowed: latest)",
		]),
		"image": "docker.io/library/nginx",
		"platform": "",
		"container": "",
	}} with input.image.reference as _reference("latest", null)
		with input.workload as null
}

test_latest_is_case_insensitive if {
	count(tags.violation) == 1 with input.image.reference as _reference("LATEST", null)
}

test_latest_beside_a_digest_is_still_a_violation if {
	count(tags.violation) == 1 with input.image.reference as _reference("latest", _digest)
}

test_version_tag_is_fine if {
	count(tags.violation) == 0 with input.image.reference as _reference("1.27.3", null)
}

test_digest_without_tag_is_fine if {
	count(tags.violation) == 0 with input.image.reference as _reference(null, _digest)
}

test_implicit_latest_is_a_violation if {
	count(tags.violation) == 1 with input.image.reference as _reference(null, null)
	some v in tags.violation with input.image.reference as _reference(null, null)
	contains(v.msg, "has no tag and no digest, so it pulls the implicit 'latest' tag")
}

test_missing_reference_is_the_implicit_latest if {
	count(tags.violation) == 1 with input as {}
}

test_custom_disallowed_tags if {
	count(tags.violation) == 1 with input.image.reference as _reference("stable", null)
		with data.gate.params.tags.disallowed as ["latest", "Stable"]

	count(tags.violation) == 0 with input.image.reference as _reference("latest", null)
		with data.gate.params.tags.disallowed as []
}

test_without_parameters_no_tag_is_disallowed if {
	count(tags.violation) == 0 with input.image.reference as _reference("latest", _digest)
		with data.gate.params as {}
}
