package gate.main_test

import data.gate.main

_entry(id, severity, scope, title, remediation) := {
	"id": id,
	"title": title,
	"severity": severity,
	"remediation": remediation,
	"scope": scope,
}

_catalog := {
	"digest": _entry("GATE-REF-001", "high", "reference", "image referenced by digest", "Pin a digest."),
	"registries": _entry("GATE-REF-002", "high", "reference", "approved registries", "Use an approved registry."),
	"gcr": _entry("GATE-REF-003", "low", "reference", "Container Registry is deprecated", "Move to Artifact Registry."),
	"tags": _entry("GATE-REF-004", "medium", "reference", "disallowed tags", "Use a digest."),
	"non_root": _entry("GATE-IMG-001", "high", "image", "image runs as a non-root user", "Run as non-root."),
	"vulnerabilities": _entry("GATE-IMG-002", "high", "image", "vulnerability scan and severity thresholds", "Patch."),
	"secrets": _entry("GATE-IMG-003", "critical", "image", "no secrets in the image", "Remove secrets."),
	"freshness": _entry("GATE-IMG-004", "medium", "image", "image age", "Rebuild."),
	"labels": _entry("GATE-IMG-005", "low", "image", "required labels", "Add labels."),
}

_digest := "sha256:89102e348749bb17a6a651a4b2a17420e1a66d2a44a675b981973d49a5af3a5e"

_reference(registry, repository, tag, dig) := {
	"original": "as written",
	"registry": registry,
	"repository": repository,
	"name": concat("/", [registry, repository]),
	"tag": tag,
	"digest": dig,
	"normalized": concat("", [
		concat("/", [registry, repository]),
		_suffix(":", tag),
		_suffix("@", dig),
	]),
}

_suffix(separator, value) := concat("", [separator, value]) if is_string(value)

else := ""

_good_platform := {
	"os": "linux",
	"architecture": "amd64",
	"variant": "",
	"manifest_digest": _digest,
	"media_type": "application/vnd.oci.image.manifest.v1+json",
	"config": {
		"user": "65532",
		"env": {"PATH": "/usr/bin"},
		"labels": {
			"org.opencontainers.image.source": "https://github.com/example/app",
			"org.opencontainers.image.revision": "0123abcd",
		},
		"created": "2025-01-20T00:00:00Z",
		"history": [],
		"exposed_ports": [],
		"entrypoint": ["/app"],
		"cmd": [],
		"working_dir": "/",
	},
}

_clean_scan := {"source": "artifact-analysis", "scan": {"status": "FINISHED_SUCCESS", "detail": ""}, "findings": []}

_input(reference, platforms, scan) := {
	"schema_version": "gate.input/v1",
	"entry_point": "attest",
	"evaluated_at": "2025-02-01T00:00:00Z",
	"image": {"reference": reference, "platforms": platforms, "vulnerabilities": scan, "attestations": []},
	"workload": null,
}

_good := _input(_reference("europe-west1-docker.pkg.dev", "p/r/app", "1.0", _digest), [_good_platform], _clean_scan)

# nginx, as a pod spec names it: implicit latest on Docker Hub; image facts not fetched.
_nginx := _input(_reference("docker.io", "library/nginx", null, null), [], null)

_policies(findings) := {f.policy | some f in findings}

_ids(findings) := {f.id | some f in findings}

test_a_compliant_image_is_allowed if {
	main.decision == {"allowed": true, "violations": [], "warnings": [], "exempted": []} with input as _good
		with data.gate.catalog as _catalog
}

test_a_violation_denies_and_is_described if {
	doc := _input(_reference("europe-west1-docker.pkg.dev", "p/r/app", "1.0", null), [_good_platform], _clean_scan)
	decision := main.decision with input as doc with data.gate.catalog as _catalog
	decision.allowed == false
	decision.violations == [{
		"policy": "digest",
		"id": "GATE-REF-001",
		"severity": "high",
		"title": "image referenced by digest",
		"remediation": "Pin a digest.",
		"msg": concat("", [
			"image europe-west1-docker.pkg.dev/p/r/app:1.0 is referenced by tag '1.0' only; ",
			"expected a digest (@sha256:…) so that the content cannot change under the same name",
		]),
		"image": "europe-west1-docker.pkg.dev/p/r/app:1.0",
		"platform": "",
		"container": "",
	}]
}

test_every_policy_contributes if {
	decision := main.decision with input as _nginx with data.gate.catalog as _catalog
	decision.allowed == false
	_policies(decision.violations) == {"digest", "registries", "tags", "non_root", "vulnerabilities"}
}

test_reference_decision_has_only_reference_policies if {
	decision := main.reference_decision with input as _nginx with data.gate.catalog as _catalog
	decision.allowed == false
	_policies(decision.violations) == {"digest", "registries", "tags"}
	_ids(decision.violations) == {"GATE-REF-001", "GATE-REF-002", "GATE-REF-004"}
}

test_reference_decision_ignores_image_facts if {
	doc := _input(_reference("europe-west1-docker.pkg.dev", "p/r/app", "1.0", _digest), [], null)
	main.reference_decision.allowed with input as doc with data.gate.catalog as _catalog
	not main.decision.allowed with input as doc with data.gate.catalog as _catalog
}

test_warnings_do_not_deny if {
	doc := _input(_reference("gcr.io", "p/app", "1.0", _digest), [_good_platform], _clean_scan)
	decision := main.decision with input as doc
		with data.gate.catalog as _catalog
		with data.gate.params.registries.approved as ["gcr.io/p/**"]

	decision.allowed == true
	decision.violations == []
	count(decision.warnings) == 1
	some w in decision.warnings
	w.id == "GATE-REF-003"
	w.policy == "gcr"
	w.severity == "low"
}

test_warnings_are_in_the_reference_decision_too if {
	doc := _input(_reference("gcr.io", "p/app", "1.0", _digest), [], null)
	decision := main.reference_decision with input as doc
		with data.gate.catalog as _catalog
		with data.gate.params.registries.approved as ["gcr.io/p/**"]

	decision.allowed == true
	_ids(decision.warnings) == {"GATE-REF-003"}
}

test_exemption_of_all_policies if {
	decision := main.decision with input as _nginx
		with data.gate.catalog as _catalog
		with data.gate.params.exemptions as [{"pattern": "docker.io/library/*", "policies": [], "reason": "TICKET-1"}]

	decision.allowed == true
	decision.violations == []
	count(decision.exempted) == 5
	every e in decision.exempted {
		e.reason == "TICKET-1"
	}
}

test_exemption_without_policies_key_covers_all if {
	decision := main.decision with input as _nginx
		with data.gate.catalog as _catalog
		with data.gate.params.exemptions as [{"pattern": "docker.io/**", "reason": "TICKET-1"}]

	decision.allowed == true
}

test_exemption_of_named_ids if {
	decision := main.decision with input as _nginx
		with data.gate.catalog as _catalog
		with data.gate.params.exemptions as [{
			"pattern": "docker.io/library/nginx",
			"policies": ["GATE-REF-001", "GATE-REF-004"],
			"reason": "pinned by the mirror",
		}]

	decision.allowed == false
	_ids(decision.exempted) == {"GATE-REF-001", "GATE-REF-004"}
	_ids(decision.violations) == {"GATE-REF-002", "GATE-IMG-001", "GATE-IMG-002"}
	some e in decision.exempted
	e.reason == "pinned by the mirror"
	e.policy == "digest"
}

test_exemption_with_a_non_matching_pattern if {
	decision := main.decision with input as _nginx
		with data.gate.catalog as _catalog
		with data.gate.params.exemptions as [
			{"pattern": "docker.io/library/redis", "policies": [], "reason": "other image"},
			{"pattern": "docker.io/nginx", "policies": [], "reason": "not normalised"},
			{"pattern": "docker.io/*", "policies": [], "reason": "one segment only"},
		]

	decision.exempted == []
	count(decision.violations) == 5
}

test_multiple_exemptions_join_their_reasons if {
	decision := main.decision with input as _nginx
		with data.gate.catalog as _catalog
		with data.gate.params.exemptions as [
			{"pattern": "docker.io/**", "policies": ["GATE-REF-001"], "reason": "first"},
			{"pattern": "docker.io/library/*", "policies": ["GATE-REF-001", "GATE-REF-002"], "reason": "second"},
		]

	_ids(decision.exempted) == {"GATE-REF-001", "GATE-REF-002"}
	{e.id: e.reason | some e in decision.exempted} == {"GATE-REF-001": "first; second", "GATE-REF-002": "second"}
}

test_exemption_with_null_policies_covers_all if {
	decision := main.decision with input as _nginx
		with data.gate.catalog as _catalog
		with data.gate.params.exemptions as [{"pattern": "docker.io/**", "policies": null, "reason": "TICKET-2"}]

	decision.allowed == true
	count(decision.exempted) == 5
}

test_exemption_with_a_lone_string_covers_nothing if {
	decision := main.decision with input as _nginx
		with data.gate.catalog as _catalog
		with data.gate.params.exemptions as [{"pattern": "docker.io/**", "policies": "GATE-REF-001", "reason": "typo"}]

	decision.exempted == []
	count(decision.violations) == 5
}

test_exemptions_that_are_not_a_list_are_ignored if {
	decision := main.decision with input as _nginx
		with data.gate.catalog as _catalog
		with data.gate.params.exemptions as null

	decision.exempted == []
	count(decision.violations) == 5
}

test_exemption_without_a_reason_exempts_nothing if {
	every reason in [null, "", 42, ["x"]] {
		exemption := object.filter({"pattern": "docker.io/**", "policies": [], "reason": reason}, _present(reason))
		decision := main.decision with input as _nginx
			with data.gate.catalog as _catalog
			with data.gate.params.exemptions as [exemption]

		decision.exempted == []
		count(decision.violations) == 5
	}
}

# The keys to keep of an exemption: "reason" only when it is not null.
_present(reason) := {"pattern", "policies"} if reason == null

else := {"pattern", "policies", "reason"}

test_exemption_without_a_pattern_exempts_nothing if {
	unusable := [
		{"policies": [], "reason": "x"},
		{"pattern": "", "reason": "x"},
		{"pattern": 7, "reason": "x"},
		"docker.io/**",
	]
	every exemption in unusable {
		decision := main.decision with input as _nginx
			with data.gate.catalog as _catalog
			with data.gate.params.exemptions as [exemption]

		decision.exempted == []
	}
}

test_exemptions_apply_to_the_reference_decision if {
	mirror := {"pattern": "docker.io/library/*", "policies": ["GATE-REF-002"], "reason": "mirror"}
	decision := main.reference_decision with input as _nginx
		with data.gate.catalog as _catalog
		with data.gate.params.exemptions as [mirror]

	_ids(decision.exempted) == {"GATE-REF-002"}
	_ids(decision.violations) == {"GATE-REF-001", "GATE-REF-004"}
}

test_exemptions_do_not_touch_warnings if {
	doc := _input(_reference("gcr.io", "p/app", "1.0", _digest), [], null)
	decision := main.reference_decision with input as doc
		with data.gate.catalog as _catalog
		with data.gate.params.registries.approved as ["gcr.io/p/**"]
		with data.gate.params.exemptions as [{"pattern": "gcr.io/**", "policies": [], "reason": "x"}]

	count(decision.warnings) == 1
	decision.exempted == []
}

test_without_parameters_nothing_is_exempted if {
	decision := main.decision with input as _nginx
		with data.gate.catalog as _catalog
		with data.gate.params as {}

	decision.allowed == false
	decision.exempted == []
}

test_only_catalogued_policies_are_evaluated if {
	decision := main.decision with input as _nginx
		with data.gate.catalog as {"digest": _catalog.digest}

	_policies(decision.violations) == {"digest"}
}

test_an_empty_or_missing_catalog_denies if {
	decision := main.decision with input as _good with data.gate.catalog as {}
	decision.allowed == false
	[v.id | some v in decision.violations] == ["GATE-MAIN-001"]
	v := decision.violations[0]
	v.msg == "no policy was evaluated: data.gate.catalog names no policy of this scope; expected at least one"
	v.image == concat("@", ["europe-west1-docker.pkg.dev/p/r/app:1.0", _digest])

	# a catalog that is not an object counts as none
	not main.decision.allowed with input as _good with data.gate.catalog as null
}

test_no_reference_policy_denies_the_reference_decision if {
	decision := main.reference_decision with input as _good with data.gate.catalog as {"labels": _catalog.labels}
	decision.allowed == false
	[v.id | some v in decision.violations] == ["GATE-MAIN-001"]
}

# -- fetchable: the names gate's registry client may contact ------------------------

_approved := ["us-docker.pkg.dev/p/**"]

test_fetchable_is_the_approved_patterns if {
	patterns := main.fetchable with data.gate.catalog as _catalog
		with data.gate.params.registries.approved as _approved

	patterns == _approved
	defaults := main.fetchable with data.gate.catalog as _catalog
	defaults == ["*-docker.pkg.dev/**"]
}

test_fetchable_adds_exemptions_that_cover_the_registry_policy if {
	exemptions := [
		{"pattern": "docker.io/library/*", "policies": [], "reason": "all"},
		{"pattern": "ghcr.io/acme/**", "reason": "no policies key: all"},
		{"pattern": "quay.io/x/**", "policies": null, "reason": "null: all"},
		{"pattern": "mirror.example/**", "policies": ["GATE-REF-001", "GATE-REF-002"], "reason": "listed"},
		{"pattern": "us-docker.pkg.dev/p/**", "policies": [], "reason": "already approved"},
	]
	patterns := main.fetchable with data.gate.catalog as _catalog
		with data.gate.params.registries.approved as _approved
		with data.gate.params.exemptions as exemptions

	patterns == [
		"docker.io/library/*", "ghcr.io/acme/**", "mirror.example/**", "quay.io/x/**",
		"us-docker.pkg.dev/p/**",
	]
}

test_fetchable_leaves_out_exemptions_that_do_not_lift_the_registry_policy if {
	exemptions := [
		{"pattern": "a.example/**", "policies": ["GATE-REF-001"], "reason": "digest only"},
		{"pattern": "b.example/**", "policies": "GATE-REF-002", "reason": "a lone string covers nothing"},
		{"pattern": "c.example/**", "policies": "GATE-REF-002, GATE-REF-001", "reason": "nor does this"},
		{"pattern": "d.example/**", "policies": ["GATE-REF-0"], "reason": "no substring match"},
		{"pattern": "e.example/**", "policies": []},
		{"pattern": "f.example/**", "policies": [], "reason": ""},
		{"pattern": "", "policies": [], "reason": "no pattern"},
		{"pattern": ["g.example/**"], "policies": [], "reason": "not a string"},
	]
	patterns := main.fetchable with data.gate.catalog as _catalog
		with data.gate.params.registries.approved as _approved
		with data.gate.params.exemptions as exemptions

	patterns == _approved
}

test_fetchable_ignores_patterns_that_are_not_strings if {
	main.fetchable == ["a/**"] with data.gate.catalog as _catalog
		with data.gate.params.registries.approved as ["a/**", 1, null]
}

test_without_the_registry_policy_nothing_is_fetchable if {
	main.fetchable == [] with data.gate.catalog as {"digest": _catalog.digest}
		with data.gate.params.exemptions as [{"pattern": "docker.io/**", "reason": "all"}]
}
