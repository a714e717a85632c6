package gate.dockerfile.base_digest_test

import data.gate.dockerfile.base_digest
import data.gate.dockerfile.lib.inputs_test as build

_unpinned := build.single(build.image("node:22", "docker.io", "library/node", "22", ""), [])

test_unpinned_base_is_a_warning_by_default if {
	build.lines(base_digest.warning) == {1} with input as _unpinned
	count(base_digest.violation) == 0 with input as _unpinned
}

test_unpinned_base_denies_when_configured if {
	build.lines(base_digest.violation) == {1} with input as _unpinned
		with data.gate.params.dockerfile.base_digest.action as "deny"
	count(base_digest.warning) == 0 with input as _unpinned
		with data.gate.params.dockerfile.base_digest.action as "deny"
}

test_off_reports_nothing if {
	count(base_digest.warning) == 0 with input as _unpinned
		with data.gate.params.dockerfile.base_digest.action as "off"
}

test_pinned_base_passes if {
	count(base_digest.warning) == 0 with input as build.single(build.slim, [])
}

test_a_missing_or_unknown_action_denies if {
	build.lines(base_digest.violation) == {1} with input as _unpinned
		with data.gate.params.dockerfile.base_digest as null
	build.lines(base_digest.violation) == {1} with input as _unpinned
		with data.gate.params.dockerfile.base_digest.action as "block"
	count(base_digest.warning) == 0 with input as _unpinned
		with data.gate.params.dockerfile.base_digest as null
}
