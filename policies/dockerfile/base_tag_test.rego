package gate.dockerfile.base_tag_test

import data.gate.dockerfile.base_tag
import data.gate.dockerfile.lib.inputs_test as build

test_no_tag_is_a_violation if {
	doc := build.single(build.image("alpine", "docker.io", "library/alpine", "", ""), [])
	some finding in base_tag.violation with input as doc
	contains(finding.msg, "FROM alpine (line 1) has no tag")
}

test_latest_is_a_violation_in_any_case if {
	doc := build.single(build.image("alpine:LATEST", "docker.io", "library/alpine", "LATEST", ""), [])
	build.lines(base_tag.violation) == {1} with input as doc
}

test_disallowed_tags_come_from_the_image_parameters if {
	doc := build.single(build.image("alpine:edge", "docker.io", "library/alpine", "edge", ""), [])
	count(base_tag.violation) == 0 with input as doc
	count(base_tag.violation) == 1 with input as doc with data.gate.params.tags.disallowed as ["edge"]
}

test_a_version_tag_or_a_digest_passes if {
	count(base_tag.violation) == 0 with input as build.single(build.slim, [])
	digest_only := build.image("alpine@sha256:bbbb", "docker.io", "library/alpine", "", "sha256:bbbb")
	count(base_tag.violation) == 0 with input as build.single(digest_only, [])
}

test_from_an_unresolved_argument_is_a_warning if {
	doc := build.single(build.unresolved("$BASE"), [])
	count(base_tag.violation) == 0 with input as doc
	some finding in base_tag.warning with input as doc
	contains(finding.msg, "FROM $BASE (line 1) depends on a build argument")
}

test_an_invalid_reference_is_a_violation if {
	base := object.union(build.unresolved("Not/Valid"), {"resolved": true, "kind": "invalid"})
	build.lines(base_tag.violation) == {1} with input as build.single(base, [])
}

test_stages_and_scratch_are_not_images if {
	doc := build.document([
		build.stage(0, 1, object.union(build.unresolved("scratch"), {"resolved": true, "kind": "scratch"}), []),
		build.stage(1, 2, build.from_stage("base", 0), []),
	])
	count(base_tag.violation) == 0 with input as doc
	count(base_tag.warning) == 0 with input as doc
}

test_without_disallowed_tags_only_a_missing_tag_is_reported if {
	latest := build.single(build.image("alpine:latest", "docker.io", "library/alpine", "latest", ""), [])
	count(base_tag.violation) == 0 with input as latest with data.gate.params.tags as {}
	untagged := build.single(build.image("alpine", "docker.io", "library/alpine", "", ""), [])
	count(base_tag.violation) == 1 with input as untagged with data.gate.params.tags as {}
}
