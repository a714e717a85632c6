package gate.dockerfile.base_registry_test

import data.gate.dockerfile.base_registry
import data.gate.dockerfile.lib.inputs_test as build

_on(registry, repository) := build.single(
	build.image(concat("/", [registry, repository, ":1"]), registry, repository, "1", ""),
	[],
)

test_unapproved_registry_is_a_violation if {
	build.lines(base_registry.violation) == {1} with input as _on("quay.io", "org/app")
	some finding in base_registry.violation with input as _on("docker.io", "madhuakula/k8s-goat")
	contains(finding.msg, "docker.io/madhuakula/k8s-goat is not from an approved registry")
}

test_artifact_registry_official_images_and_distroless_pass if {
	count(base_registry.violation) == 0 with input as _on("us-docker.pkg.dev", "p/r/app")
	count(base_registry.violation) == 0 with input as _on("docker.io", "library/python")
	count(base_registry.violation) == 0 with input as _on("gcr.io", "distroless/base-debian12")
}

test_approved_patterns_come_from_the_image_parameters if {
	count(base_registry.violation) == 0 with input as _on("quay.io", "org/app")
		with data.gate.params.registries.approved as ["quay.io/org/*"]
}

test_exceptions_are_a_parameter if {
	count(base_registry.violation) == 1 with input as _on("docker.io", "library/python")
		with data.gate.params.dockerfile.base_images.exceptions as []
}

test_without_approved_patterns_only_the_exceptions_pass if {
	count(base_registry.violation) == 1 with input as _on("us-docker.pkg.dev", "p/r/app")
		with data.gate.params.registries as {}

	count(base_registry.violation) == 0 with input as _on("docker.io", "library/python")
		with data.gate.params.registries as {}
}
