package gate.policies.freshness_test

import data.gate.policies.freshness

_reference := {
	"original": "httpd:2.4.23",
	"registry": "docker.io",
	"repository": "library/httpd",
	"name": "docker.io/library/httpd",
	"tag": "2.4.23",
	"digest": null,
	"normalized": "docker.io/library/httpd:2.4.23",
}

_platform(created) := {
	"os": "linux",
	"architecture": "amd64",
	"variant": "",
	"manifest_digest": null,
	"media_type": "application/vnd.docker.distribution.manifest.v2+json",
	"config": {
		"user": "",
		"env": {},
		"labels": {},
		"created": created,
		"history": [],
		"exposed_ports": [],
		"entrypoint": [],
		"cmd": [],
		"working_dir": "",
	},
}

_input(created, evaluated_at) := {
	"schema_version": "gate.input/v1",
	"entry_point": "eval",
	"evaluated_at": evaluated_at,
	"image": {"reference": _reference, "platforms": [_platform(created)], "vulnerabilities": null, "attestations": []},
	"workload": null,
}

# The httpd 2.4.23 config (fixtures/oci/image-config-httpd-no-user-root.json) was created 2016-09-23.
test_old_image_is_a_violation if {
	freshness.violation == {{
		"msg": concat("", [
			"image docker.io/library/httpd:2.4.23 (linux/amd64) was created 2016-09-23T23:20:45.78976459Z, ",
			"3052 days before the evaluation time 2025-02-01T00:00:00Z; expected at most 90 days",
		]),
		"image": "docker.io/library/httpd:2.4.23",
		"platform": "linux/amd64",
		"container": "",
	}} with input as _input("2016-09-23T23:20:45.78976459Z", "2025-02-01T00:00:00Z")

	count(freshness.warning) == 0 with input as _input("2016-09-23T23:20:45.78976459Z", "2025-02-01T00:00:00Z")
}

test_recent_image_passes if {
	count(freshness.violation) == 0 with input as _input("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z")
	count(freshness.warning) == 0 with input as _input("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z")
}

test_boundary_is_inclusive if {
	# exactly 90 days, and 90 days and 23 hours: still 90 whole days
	count(freshness.violation) == 0 with input as _input("2024-11-03T00:00:00Z", "2025-02-01T00:00:00Z")
	count(freshness.violation) == 0 with input as _input("2024-11-02T01:00:00Z", "2025-02-01T00:00:00Z")
	count(freshness.violation) == 1 with input as _input("2024-11-02T00:00:00Z", "2025-02-01T00:00:00Z")
}

test_time_zone_offsets if {
	count(freshness.violation) == 1 with input as _input("2024-11-02T00:00:00+00:00", "2025-02-01T00:00:00Z")
	count(freshness.violation) == 0 with input as _input("2024-11-02T20:00:00-05:00", "2025-02-01T00:00:00Z")
}

test_image_from_the_future_passes if {
	count(freshness.violation) == 0 with input as _input("2026-01-01T00:00:00Z", "2025-02-01T00:00:00Z")
}

test_max_age_days_parameter if {
	count(freshness.violation) == 1 with input as _input("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z")
		with data.gate.params.freshness.max_age_days as 30

	count(freshness.violation) == 0 with input as _input("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z")
		with data.gate.params.freshness.max_age_days as 31
}

test_warn_action if {
	count(freshness.violation) == 0 with input as _input("2016-09-23T23:20:45.78976459Z", "2025-02-01T00:00:00Z")
		with data.gate.params.freshness.action as "warn"

	some w in freshness.warning with input as _input("2016-09-23T23:20:45.78976459Z", "2025-02-01T00:00:00Z")
		with data.gate.params.freshness.action as "warn"

	contains(w.msg, "3052 days before the evaluation time")
}

test_unknown_action_denies if {
	count(freshness.violation) == 1 with input as _input("2016-09-23T23:20:45.78976459Z", "2025-02-01T00:00:00Z")
		with data.gate.params.freshness.action as "block"
}

test_reproducible_build_epoch_is_unknown if {
	# the jib config (fixtures/oci/image-config-user-tomcat-healthcheck.json)
	count(freshness.violation) == 0 with input as _input("1970-01-01T00:00:20Z", "2025-02-01T00:00:00Z")
	some w in freshness.warning with input as _input("1970-01-01T00:00:20Z", "2025-02-01T00:00:00Z")
	contains(w.msg, "(linux/amd64): creation time unknown (config created is 1970-01-01T00:00:20Z)")
}

test_missing_creation_time_is_unknown if {
	count(freshness.violation) == 0 with input as _input(null, "2025-02-01T00:00:00Z")
	count(freshness.warning) == 1 with input as _input("yesterday", "2025-02-01T00:00:00Z")
	some w in freshness.warning with input as _input(null, "2025-02-01T00:00:00Z")
	contains(w.msg, "creation time unknown (config created is null)")
}

test_dates_that_do_not_exist_are_unknown if {
	# an evaluation time naming no real date fails closed
	count(freshness.violation) == 1 with input as _input("2025-01-01T00:00:00Z", "2025-02-30T00:00:00Z")

	# a creation time shaped like RFC 3339, naming no real date: a warning, never an error
	every created in ["2025-13-45T10:00:00Z", "2025-02-29T00:00:00Z"] {
		count(freshness.violation) == 0 with input as _input(created, "2025-03-01T00:00:00Z")
		count(freshness.warning) == 1 with input as _input(created, "2025-03-01T00:00:00Z")
	}
}

test_missing_evaluation_time_fails_closed if {
	count(freshness.violation) == 1 with input as object.remove(_input("2025-01-01T00:00:00Z", ""), ["evaluated_at"])
	some v in freshness.violation with input as _input("2025-01-01T00:00:00Z", "now")
	contains(v.msg, "the evaluation time evaluated_at (now) is missing or not RFC 3339")
}

test_no_platforms_nothing_to_check if {
	count(freshness.violation) == 0 with input as {"image": {"reference": _reference, "platforms": []}}
	count(freshness.warning) == 0 with input as {"image": {"reference": _reference, "platforms": []}}
}

test_without_parameters_every_known_age_is_too_old if {
	some v in freshness.violation with input as _input("2025-01-31T00:00:00Z", "2025-02-01T00:00:00Z")
		with data.gate.params as {}

	endswith(v.msg, "; expected at most null days")
}

test_a_max_age_that_is_not_a_number_makes_every_known_age_too_old if {
	some v in freshness.violation with input as _input("2025-01-31T00:00:00Z", "2025-02-01T00:00:00Z")
		with data.gate.params.freshness.max_age_days as "90"

	endswith(v.msg, "1 days before the evaluation time 2025-02-01T00:00:00Z; expected at most 90 days")
}
