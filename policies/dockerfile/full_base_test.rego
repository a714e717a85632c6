package gate.dockerfile.full_base_test

import data.gate.dockerfile.full_base
import data.gate.dockerfile.lib.inputs_test as build

_python(tag) := build.image(concat(":", ["python", tag]), "docker.io", "library/python", tag, "")

test_full_size_final_base_is_a_violation if {
	some finding in full_base.violation with input as build.single(_python("3.12"), [])
	contains(finding.msg, "full-size image python:3.12")
}

test_slim_and_alpine_variants_pass if {
	count(full_base.violation) == 0 with input as build.single(_python("3.12-slim-bookworm"), [])
	count(full_base.violation) == 0 with input as build.single(_python("alpine"), [])
}

test_only_the_final_stage_counts if {
	doc := build.document([
		build.stage(0, 1, build.image("golang:1.22", "docker.io", "library/golang", "1.22", ""), []),
		object.union(
			build.stage(1, 5, build.image("gcr.io/distroless/static", "gcr.io", "distroless/static", "", ""), []),
			{"is_final": true, "in_final_image": true},
		),
	])
	count(full_base.violation) == 0 with input as doc
}

test_the_origin_of_a_final_stage_built_from_a_stage_counts if {
	node := build.image("node:20", "docker.io", "library/node", "20", "")
	doc := build.document([
		object.union(build.stage(0, 1, node, []), {"in_final_image": true}),
		object.union(
			build.stage(1, 4, build.from_stage("deps", 0), []),
			{"origin": node, "is_final": true, "in_final_image": true},
		),
	])
	build.lines(full_base.violation) == {4} with input as doc
}

test_without_slim_markers_every_listed_image_is_full_size if {
	count(full_base.violation) == 1 with input as build.single(_python("3.12-slim"), [])
		with data.gate.params.dockerfile.full_size.slim_markers as null
}
