package gate.policies.vulnerabilities_test

import data.gate.policies.vulnerabilities

_image := "ghcr.io/aquasecurity/trivy-test-images:debian-buster"

_reference := {
	"original": _image,
	"registry": "ghcr.io",
	"repository": "aquasecurity/trivy-test-images",
	"name": "ghcr.io/aquasecurity/trivy-test-images",
	"tag": "debian-buster",
	"digest": null,
	"normalized": _image,
}

# The two findings of the Trivy debian-buster report
# (fixtures/trivy/trivy-debian-buster-critical-fixed-low-unfixed.json) as gate reads them.
_libidn2 := {
	"id": "CVE-2019-18224",
	"aliases": ["DSA-4613-1"],
	"severity": "CRITICAL",
	"effective_severity": "CRITICAL",
	"fixable": true,
	"package": "libidn2-0",
	"package_type": "debian",
	"installed_version": "2.0.5-1",
	"fixed_version": "2.0.5-1+deb10u1",
	"cvss": 9.8,
}

_bash := {
	"id": "CVE-2019-18276",
	"aliases": [],
	"severity": "HIGH",
	"effective_severity": "LOW",
	"fixable": false,
	"package": "bash",
	"package_type": "debian",
	"installed_version": "5.0-4",
	"fixed_version": null,
	"cvss": 7.8,
}

_finding(id, effective_severity, fixable) := {
	"id": id,
	"aliases": [],
	"severity": effective_severity,
	"effective_severity": effective_severity,
	"fixable": fixable,
	"package": "pkg",
	"package_type": "debian",
	"installed_version": "1.0",
	"fixed_version": null,
	"cvss": null,
}

_scan(status, detail, findings) := {
	"source": "trivy",
	"scan": {"status": status, "detail": detail},
	"findings": findings,
}

_input(vulnerabilities) := {
	"schema_version": "gate.input/v1",
	"entry_point": "attest",
	"evaluated_at": "2025-02-01T00:00:00Z",
	"image": {"reference": _reference, "platforms": [], "vulnerabilities": vulnerabilities, "attestations": []},
	"workload": null,
}

# A finished scan with these findings.
_done(findings) := _input(_scan("FINISHED_SUCCESS", "", findings))

_buster := _done([_libidn2, _bash])

# regorus (0.13) evaluates a rule as undefined under `with input as X` when X itself was
# built from that rule, so inputs that share rules with the expected value are bound to
# a local variable first.
test_debian_buster_is_denied_at_maximum_fixable_high if {
	doc := _done([_libidn2, _bash])
	vulnerabilities.violation == {{
		"msg": concat("", [
			"image ghcr.io/aquasecurity/trivy-test-images:debian-buster: ",
			"CVE-2019-18224 (CRITICAL) in package libidn2-0 2.0.5-1, ",
			"fixed in 2.0.5-1+deb10u1, exceeds maximum_fixable_severity HIGH; expected no such finding ",
			"(upgrade the package, or list the id in allowed_cves after review)",
		]),
		"image": _image,
		"platform": "",
		"container": "",
		"findings": [_libidn2],
	}} with input as doc
}

test_debian_buster_is_allowed_once_the_cve_is_allowed if {
	count(vulnerabilities.violation) == 0 with input as _buster
		with data.gate.params.vulnerabilities.allowed_cves as ["CVE-2019-18224"]
}

test_allowed_cves_match_aliases_case_insensitively if {
	count(vulnerabilities.violation) == 0 with input as _buster
		with data.gate.params.vulnerabilities.allowed_cves as ["dsa-4613-1"]
}

test_blocked_cves_always_deny if {
	violations := vulnerabilities.violation with input as _buster
		with data.gate.params.vulnerabilities.blocked_cves as ["CVE-2019-18276"]

	count(violations) == 2
	some v in violations
	contains(v.msg, "CVE-2019-18276 (LOW) in package bash 5.0-4, no fix available, is on the blocked list (blocked_cves)")
}

test_blocked_wins_over_allowed if {
	violations := vulnerabilities.violation with input as _buster
		with data.gate.params.vulnerabilities.allowed_cves as ["CVE-2019-18224"]
		with data.gate.params.vulnerabilities.blocked_cves as ["CVE-2019-18224"]

	count(violations) == 1
	some v in violations
	contains(v.msg, "is on the blocked list")
}

test_blocked_cves_match_aliases if {
	count(vulnerabilities.violation) == 1 with input as _buster
		with data.gate.params.vulnerabilities.blocked_cves as ["DSA-4613-1"]
		with data.gate.params.vulnerabilities.maximum_fixable_severity as "ALLOW_ALL"
}

test_unfixable_findings_use_their_own_threshold if {
	count(vulnerabilities.violation) == 0 with input as _done([_finding("CVE-1", "CRITICAL", false)])

	some v in vulnerabilities.violation with input as _done([_finding("CVE-1", "CRITICAL", false)])
		with data.gate.params.vulnerabilities.maximum_unfixable_severity as "HIGH"

	contains(v.msg, "CVE-1 (CRITICAL) in package pkg 1.0, no fix available, exceeds maximum_unfixable_severity HIGH")
}

test_fixable_without_a_fixed_version if {
	some v in vulnerabilities.violation with input as _done([_finding("CVE-2", "CRITICAL", true)])
	contains(v.msg, "CVE-2 (CRITICAL) in package pkg 1.0, a fix is available, exceeds maximum_fixable_severity HIGH")
}

test_findings_at_the_threshold_pass if {
	count(vulnerabilities.violation) == 0 with input as _done([_finding("CVE-3", "HIGH", true)])
}

test_block_all_and_allow_all if {
	count(vulnerabilities.violation) == 1 with input as _done([_finding("CVE-4", "MINIMAL", true)])
		with data.gate.params.vulnerabilities.maximum_fixable_severity as "BLOCK_ALL"

	count(vulnerabilities.violation) == 0 with input as _buster
		with data.gate.params.vulnerabilities.maximum_fixable_severity as "ALLOW_ALL"
}

test_unspecified_fails_closed_by_default if {
	some v in vulnerabilities.violation with input as _done([_finding("CVE-5", "UNSPECIFIED", true)])
	contains(v.msg, "CVE-5 (UNSPECIFIED, ranked as CRITICAL) in package pkg 1.0")
}

test_unspecified_severity_parameter if {
	count(vulnerabilities.violation) == 0 with input as _done([_finding("CVE-5", "UNSPECIFIED", true)])
		with data.gate.params.vulnerabilities.unspecified_severity as "LOW"
}

test_effective_severity_is_read if {
	# NVD says HIGH, the distribution says LOW: LOW decides
	count(vulnerabilities.violation) == 0 with input as _done([_bash])
		with data.gate.params.vulnerabilities.maximum_unfixable_severity as "MEDIUM"
}

test_missing_effective_severity_falls_back_to_severity if {
	finding := object.remove(_finding("CVE-6", "CRITICAL", true), ["effective_severity"])
	some v in vulnerabilities.violation with input as _done([finding])
	contains(v.msg, "CVE-6 (CRITICAL)")

	no_severity := object.remove(finding, ["severity"])
	some w in vulnerabilities.violation with input as _done([no_severity])
	contains(w.msg, "CVE-6 (UNSPECIFIED, ranked as CRITICAL)")
}

test_lower_case_severity_takes_the_slow_path if {
	finding := object.union(_finding("CVE-8", "CRITICAL", true), {"effective_severity": "critical"})
	some v in vulnerabilities.violation with input as _done([finding])
	contains(v.msg, "CVE-8 (CRITICAL) in package pkg 1.0, a fix is available, exceeds maximum_fixable_severity HIGH")
}

test_unknown_fixable_counts_as_fixable if {
	# a known severity below the fixable threshold still passes
	high := object.remove(_finding("CVE-9", "HIGH", true), ["fixable"])
	count(vulnerabilities.violation) == 0 with input as _done([high])

	finding := object.remove(_finding("CVE-9", "CRITICAL", true), ["fixable"])
	some v in vulnerabilities.violation with input as _done([finding])
	contains(v.msg, "CVE-9 (CRITICAL) in package pkg 1.0, fix status unknown, exceeds maximum_fixable_severity HIGH")
}

test_one_violation_per_threshold_lists_every_finding if {
	fixable := [_finding(sprintf("CVE-%d", [i]), "CRITICAL", true) | some i in numbers.range(1, 50)]
	unfixable := [_finding(sprintf("CVE-%d", [i]), "CRITICAL", false) | some i in numbers.range(51, 52)]
	doc := _done(array.concat(fixable, unfixable))
	violations := vulnerabilities.violation with input as doc
		with data.gate.params.vulnerabilities.maximum_unfixable_severity as "HIGH"

	count(violations) == 2
	some many in violations
	many.findings == fixable
	many.msg == concat("", [
		"image ghcr.io/aquasecurity/trivy-test-images:debian-buster: 50 findings exceed maximum_fixable_severity HIGH: ",
		"CVE-1 (CRITICAL) in package pkg 1.0, a fix is available; CVE-2 (CRITICAL) in package pkg 1.0, a fix is available; ",
		"CVE-3 (CRITICAL) in package pkg 1.0, a fix is available; CVE-4 (CRITICAL) in package pkg 1.0, a fix is available; ",
		"CVE-5 (CRITICAL) in package pkg 1.0, a fix is available; ",
		"and 45 more (gate eval IMAGE --output json lists every one); ",
		"expected no such finding (upgrade the packages, or list the ids in allowed_cves after review)",
	])
	some two in violations
	two.findings == unfixable
	contains(two.msg, concat("", [
		": 2 findings exceed maximum_unfixable_severity HIGH: ",
		"CVE-51 (CRITICAL) in package pkg 1.0, no fix available; CVE-52",
	]))
	not contains(two.msg, "more")
}

test_allowed_findings_leave_the_list if {
	findings := [_finding(sprintf("CVE-%d", [i]), "CRITICAL", true) | some i in numbers.range(1, 3)]
	doc := _done(findings)
	some v in vulnerabilities.violation with input as doc
		with data.gate.params.vulnerabilities.allowed_cves as ["cve-2"]

	v.findings == [findings[0], findings[2]]
	contains(v.msg, ": 2 findings exceed maximum_fixable_severity HIGH: CVE-1 (CRITICAL)")
}

test_blocked_findings_in_one_violation if {
	findings := [_finding(sprintf("CVE-%d", [i]), "LOW", false) | some i in numbers.range(1, 3)]
	doc := _done(findings)
	violations := vulnerabilities.violation with input as doc
		with data.gate.params.vulnerabilities.blocked_cves as ["CVE-1", "CVE-3"]

	count(violations) == 1
	some v in violations
	v.findings == [findings[0], findings[2]]
	contains(v.msg, concat("", [
		": 2 findings are on the blocked list (blocked_cves): ",
		"CVE-1 (LOW) in package pkg 1.0, no fix available; CVE-3",
	]))
	endswith(v.msg, "; expected the image not to contain them")
}

test_findings_outside_the_schema_come_last if {
	odd := object.union(_finding("CVE-2", "CRITICAL", true), {"effective_severity": "critical"})
	doc := _done([odd, _finding("CVE-1", "CRITICAL", true)])
	some v in vulnerabilities.violation with input as doc
	[first, second] := v.findings
	first.id == "CVE-1"
	second.id == "CVE-2"
}

test_findings_that_are_not_a_list_deny if {
	doc := _input(object.union(_scan("FINISHED_SUCCESS", "", []), {"findings": {"a": _libidn2}}))
	[v.msg | some v in vulnerabilities.violation with input as doc] == [concat("", [
		"image ghcr.io/aquasecurity/trivy-test-images:debian-buster: the scan's findings are not a list (type object); ",
		"expected input.image.vulnerabilities.findings to be a list of findings",
	])]
}

test_no_scan_result if {
	doc := _input(null)
	vulnerabilities.violation == {{
		"msg": concat("", [
			"no vulnerability scan result for image ghcr.io/aquasecurity/trivy-test-images:debian-buster; ",
			"expected a finished vulnerability scan (FINISHED_SUCCESS) from Artifact Analysis, Trivy or Grype",
		]),
		"image": _image,
		"platform": "",
		"container": "",
	}} with input as doc

	count(vulnerabilities.violation) == 1 with input as {"image": {"reference": _reference}}
}

test_unfinished_scans if {
	cases := {
		"PENDING": "scan not finished (PENDING): queued",
		"SCANNING": "scan not finished (SCANNING): queued",
		"FINISHED_FAILED": "scan failed (FINISHED_FAILED): queued",
		"FINISHED_UNSUPPORTED": "scan unsupported: queued",
		"MISSING": "no scan found (MISSING): queued",
		"SOMETHING_NEW": "scan status SOMETHING_NEW: queued",
	}
	every status, phrase in cases {
		doc := _input(_scan(status, "queued", []))
		some v in vulnerabilities.violation with input as doc
		v.msg == sprintf(
			"image %s: %s; expected a finished vulnerability scan (FINISHED_SUCCESS) from Artifact Analysis, Trivy or Grype",
			[_image, phrase],
		)
	}
}

test_unsupported_scan_without_detail if {
	some v in vulnerabilities.violation with input as _input(_scan("FINISHED_UNSUPPORTED", "", []))
	contains(v.msg, ": scan unsupported; expected")
}

test_scan_without_status_is_missing if {
	some v in vulnerabilities.violation with input as _input({"source": "trivy", "findings": []})
	contains(v.msg, "no scan found (MISSING);")
}

test_a_clean_finished_scan_passes if {
	count(vulnerabilities.violation) == 0 with input as _done([])
}

test_unknown_threshold_is_reported_and_blocks_all if {
	violations := vulnerabilities.violation with input as _done([_finding("CVE-7", "MINIMAL", true)])
		with data.gate.params.vulnerabilities.maximum_fixable_severity as "SEVERE"

	count(violations) == 2
	some v in violations
	v.msg == concat("", [
		"policy parameter vulnerabilities.maximum_fixable_severity is SEVERE, not one of ",
		"BLOCK_ALL, MINIMAL, LOW, MEDIUM, HIGH, CRITICAL, ALLOW_ALL; every finding is treated as above it (BLOCK_ALL)",
	])
}

test_missing_thresholds_block_every_finding if {
	violations := vulnerabilities.violation with input as _buster
		with data.gate.params as {}

	# both findings over a BLOCK_ALL threshold, and each missing parameter named
	count(violations) == 4
	some v in violations
	contains(v.msg, "policy parameter vulnerabilities.maximum_unfixable_severity is null")
}
