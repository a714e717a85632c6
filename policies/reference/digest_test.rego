package gate.policies.digest_test

import data.gate.policies.digest

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

test_tag_only_is_a_violation if {
	digest.violation == {{
		"msg": concat("", [
			"image docker.io/library/nginx:1.27 is referenced by tag '1.27' only; ",
			"expected a digest (@sha256:…) so that the content cannot change under the same name",
		]),
		"image": "docker.io/library/nginx:1.27",
		"platform": "",
		"container": "",
	}} with input.image.reference as object.union(_reference("1.27", null), {"normalized": "docker.io/library/nginx:1.27"})
		with input.workload as null
}

test_no_tag_no_digest_is_a_violation if {
	count(digest.violation) == 1 with input.image.reference as _reference(null, null)
	some v in digest.violation with input.image.reference as _reference(null, null)
	contains(v.msg, "neither a tag nor a digest")
}

test_empty_tag_counts_as_no_tag if {
	some v in digest.violation with input.image.reference as _reference("", "")
	contains(v.msg, "neither a tag nor a digest")
}

test_digest_alone_is_fine if {
	count(digest.violation) == 0 with input.image.reference as _reference(null, _digest)
}

test_tag_beside_digest_is_fine if {
	count(digest.violation) == 0 with input.image.reference as _reference("v1.26", _digest)
}

test_missing_reference_fails_closed if {
	count(digest.violation) == 1 with input as {}
}

test_container_is_named_at_admission if {
	some v in digest.violation with input.image.reference as _reference("1.27", null)
		with input.workload.container.name as "web"

	v.container == "web"
	endswith(v.msg, "") # the message names the container
	contains(v.msg, "in container 'web'")
}
