package gate.dockerfile.base_gcr_test

import data.gate.dockerfile.base_gcr
import data.gate.dockerfile.lib.inputs_test as build

_on(registry, repository) := build.single(
	build.image(concat("/", [registry, repository, ":1"]), registry, repository, "1", ""),
	[],
)

test_container_registry_base_is_a_warning_by_default if {
	build.lines(base_gcr.warning) == {1} with input as _on("gcr.io", "my-project/base")
	build.lines(base_gcr.warning) == {1} with input as _on("eu.gcr.io", "my-project/base")
	count(base_gcr.violation) == 0 with input as _on("gcr.io", "my-project/base")
}

test_container_registry_base_denies_when_the_gcr_action_says_so if {
	build.lines(base_gcr.violation) == {1} with input as _on("gcr.io", "my-project/base")
		with data.gate.params.gcr.action as "deny"
}

test_distroless_is_an_exception if {
	count(base_gcr.warning) == 0 with input as _on("gcr.io", "distroless/static-debian12")
}

test_look_alike_hosts_are_not_container_registry if {
	count(base_gcr.warning) == 0 with input as _on("gcr.io.evil.example", "x/y")
	count(base_gcr.warning) == 0 with input as _on("us-docker.pkg.dev", "p/r/y")
}

test_a_missing_action_denies if {
	build.lines(base_gcr.violation) == {1} with input as _on("gcr.io", "my-project/base")
		with data.gate.params.gcr as {}
}

test_without_exceptions_distroless_on_gcr_is_reported if {
	build.lines(base_gcr.warning) == {1} with input as _on("gcr.io", "distroless/static-debian12")
		with data.gate.params.dockerfile.base_images as null
}
