package gate.lib.findings_test

import data.gate.lib.findings

_finding(id, sev, fixable) := {
	"id": id,
	"aliases": [],
	"package": "openssl",
	"installed_version": "3.0.1",
	"fixed_version": "3.0.2",
	"severity": sev,
	"effective_severity": sev,
	"fixable": fixable,
}

_image := {"reference": {"name": "r.example/app"}, "platforms": []}

test_describe_names_id_severity_package_and_fix if {
	findings.describe(_finding("CVE-1", "HIGH", true)) == "CVE-1 (HIGH) in package openssl 3.0.1, fixed in 3.0.2"
	unknown := findings.describe({"id": "CVE-2", "fixable": false})
	unknown == "CVE-2 (UNSPECIFIED, ranked as CRITICAL) in package ? ?, no fix available"
}

test_listing_names_five_and_counts_the_rest if {
	many := [_finding(sprintf("CVE-%d", [i]), "LOW", true) | some i in numbers.range(1, 7)]
	listing := findings.listing(many)
	endswith(listing, "; and 2 more (gate eval IMAGE --output json lists every one)")
	contains(listing, "CVE-5 ")
	not contains(listing, "CVE-6 ")
}

test_unlisted_drops_ids_and_aliases_in_any_case if {
	aliased := object.union(_finding("GHSA-x", "HIGH", true), {"aliases": ["cve-9"]})
	kept := _finding("CVE-3", "HIGH", true)
	findings.unlisted([_finding("cve-1", "HIGH", true), aliased, kept], {"CVE-1", "CVE-9"}) == [kept]
	findings.unlisted([kept], set()) == [kept]
}

test_above_keeps_the_findings_of_a_kind_over_the_names if {
	high := _finding("CVE-1", "HIGH", true)
	found := [high, _finding("CVE-2", "LOW", true), _finding("CVE-3", "HIGH", false)]
	findings.above(found, {"HIGH", "CRITICAL"}, true) == [high]
}

test_an_odd_finding_is_unspecified_and_fixable if {
	odd := {"id": "CVE-1", "effective_severity": "high?", "severity": "medium", "fixable": "yes"}
	not findings.conforms(odd)
	findings.severity_of(odd) == "MEDIUM"
	findings.fixable(odd) == true
}

test_status_message_names_status_and_detail if {
	msg := findings.status_message({"scan": {"status": "FINISHED_FAILED", "detail": "timeout"}}) with input.image as _image
	contains(msg, "scan failed (FINISHED_FAILED): timeout; expected a finished vulnerability scan")
	findings.status({}) == "MISSING"
}
