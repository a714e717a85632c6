package gate.policies.gcr_test

import data.gate.policies.gcr

_reference(registry) := {
	"original": concat("/", [registry, "p/app:1"]),
	"registry": registry,
	"repository": "p/app",
	"name": concat("/", [registry, "p/app"]),
	"tag": "1",
	"digest": null,
	"normalized": concat("/", [registry, "p/app:1"]),
}

test_gcr_io_warns_by_default if {
	gcr.warning == {{
		"msg": concat("", [
			"image gcr.io/p/app:1 is hosted on Container Registry (gcr.io), which is deprecated; ",
			"expected an Artifact Registry host (*-docker.pkg.dev)",
		]),
		"image": "gcr.io/p/app:1",
		"platform": "",
		"container": "",
	}} with input.image.reference as _reference("gcr.io")
		with input.workload as null

	count(gcr.violation) == 0 with input.image.reference as _reference("gcr.io")
}

test_regional_hosts_are_gcr if {
	count(gcr.warning) == 1 with input.image.reference as _reference("eu.gcr.io")
	count(gcr.warning) == 1 with input.image.reference as _reference("asia.gcr.io")
	count(gcr.warning) == 1 with input.image.reference as _reference("GCR.IO")
	count(gcr.warning) == 1 with input.image.reference as _reference("gcr.io:443")
}

test_lookalikes_are_not_gcr if {
	count(gcr.warning) == 0 with input.image.reference as _reference("gcr.io.evil.com")
	count(gcr.warning) == 0 with input.image.reference as _reference("evilgcr.io")
	count(gcr.warning) == 0 with input.image.reference as _reference("us-docker.pkg.dev")
	count(gcr.warning) == 0 with input.image.reference as _reference("docker.io")
}

test_deny_action if {
	count(gcr.violation) == 1 with input.image.reference as _reference("gcr.io")
		with data.gate.params.gcr.action as "deny"

	count(gcr.warning) == 0 with input.image.reference as _reference("gcr.io")
		with data.gate.params.gcr.action as "deny"
}

test_unknown_action_denies if {
	count(gcr.violation) == 1 with input.image.reference as _reference("gcr.io")
		with data.gate.params.gcr.action as "block"
}

test_a_missing_action_denies if {
	count(gcr.violation) == 1 with input.image.reference as _reference("gcr.io")
		with data.gate.params as {}
}

test_a_registry_that_is_not_a_string_is_not_gcr if {
	count(gcr.violation) == 0 with input.image.reference as {"registry": null}
}

test_missing_registry_is_not_gcr if {
	count(gcr.warning) == 0 with input as {}
	count(gcr.violation) == 0 with input as {}
}
