# METADATA
# title: vulnerability findings
# description: |
#   The helpers and messages of GATE-IMG-002 (gate.policies.vulnerabilities): a finding's
#   schema, its severity and fix status as gate reads them, the CVE lists, and the text of
#   each violation. They live here, not in the policy's package, because the embedded
#   engine evaluates every head of a policy package on each decision, called or not
#   (about 12,500 instructions a function), and a library's functions only when called
#   (policies/README.md, issue 14, seventh round).
package gate.lib.findings

import data.gate.lib.context
import data.gate.lib.severity

# METADATA
# scope: document
# description: The threshold parameter of fixable (true) and unfixable (false) findings.
parameter(true) := "maximum_fixable_severity"

parameter(false) := "maximum_unfixable_severity"

# METADATA
# description: |
#   The findings of the schema whose severity is one of names and whose fix status is
#   with_fix, in the order of the scan: the one pass per threshold over every finding.
above(findings, names, with_fix) := [f |
	some f in findings
	f.effective_severity in names
	f.fixable == with_fix
]

# METADATA
# description: A finding of the schema, with an upper-case severity name and a boolean fixable (as gate builds them).
conforms(f) if {
	f.effective_severity in severity.names
	is_boolean(f.fixable)
}

# METADATA
# description: |
#   A finding's severity name, read from effective_severity, then severity, in any case;
#   UNSPECIFIED when neither is a known severity.
severity_of(f) := upper(f.effective_severity) if {
	severity.known(f.effective_severity)
} else := upper(f.severity) if {
	severity.known(f.severity)
} else := "UNSPECIFIED"

# METADATA
# description: Whether a finding counts as fixable; anything but false does (fail closed).
fixable(f) := false if f.fixable == false

else := true

# METADATA
# description: The findings whose id or an alias is in ids (upper case), all of them when ids is empty.
unlisted(findings, ids) := findings if {
	count(ids) == 0
} else := [f |
	some f in findings
	not listed(f, ids)
]

# METADATA
# scope: document
# description: A finding whose id or one of its aliases, upper case, is in ids.
listed(f, ids) if upper(f.id) in ids

listed(f, ids) if {
	some alias in f.aliases
	upper(alias) in ids
}

# METADATA
# description: |
#   The first five findings and how many more, for a message; a violation's "findings"
#   lists every one.
listing(findings) := concat("; ", [describe(f) | some f in findings]) if {
	count(findings) <= 5
} else := sprintf("%s; and %d more (gate eval IMAGE --output json lists every one)", [
	concat("; ", [describe(f) | some f in array.slice(findings, 0, 5)]),
	count(findings) - 5,
])

# METADATA
# description: A finding in a message, its id, severity name, package and fix.
describe(f) := sprintf("%s (%s) in package %s %s, %s", [
	object.get(f, "id", "?"),
	_severity_phrase(severity_of(f)),
	object.get(f, "package", "?"),
	object.get(f, "installed_version", "?"),
	_fix_phrase(f, fixable(f)),
])

_severity_phrase(name) := sprintf("UNSPECIFIED, ranked as %s", [severity.unspecified_as]) if {
	name == "UNSPECIFIED"
} else := name

_fix_phrase(f, with_fix) := sprintf("fixed in %s", [f.fixed_version]) if {
	with_fix == true
	is_string(f.fixed_version)
	f.fixed_version != ""
} else := "a fix is available" if {
	f.fixable == true
} else := "no fix available" if {
	f.fixable == false
} else := "fix status unknown"

# A threshold parameter's value in a message: upper case when it is a string.
_threshold_value(params, parameter) := upper(value) if {
	value := object.get(params, parameter, null)
	is_string(value)
} else := sprintf("%v", [object.get(params, parameter, null)])

# METADATA
# description: The message of findings above the threshold parameter (of the policy's params).
threshold_message(findings, parameter, params) := sprintf("%s: %s, exceeds %s %s; %s", [
	context.subject(""), describe(findings[0]), parameter, _threshold_value(params, parameter),
	"expected no such finding (upgrade the package, or list the id in allowed_cves after review)",
]) if {
	count(findings) == 1
} else := sprintf("%s: %d findings exceed %s %s: %s; %s", [
	context.subject(""), count(findings), parameter, _threshold_value(params, parameter),
	listing(findings),
	"expected no such finding (upgrade the packages, or list the ids in allowed_cves after review)",
])

# METADATA
# description: The message of findings on the blocked list.
blocked_message(findings) := sprintf("%s: %s, is on the blocked list (blocked_cves); %s", [
	context.subject(""), describe(findings[0]),
	"expected the image not to contain it",
]) if {
	count(findings) == 1
} else := sprintf("%s: %d findings are on the blocked list (blocked_cves): %s; %s", [
	context.subject(""), count(findings), listing(findings),
	"expected the image not to contain them",
])

# METADATA
# description: The message of a scan that did not finish, with the scanner's detail when there is one.
status_message(scan) := sprintf("%s: %s%s; %s", [
	context.subject(""),
	object.get(_status_phrases, name, sprintf("scan status %s", [name])),
	_detail(scan),
	expected_scan,
]) if {
	name := status(scan)
}

# METADATA
# description: A scan's status, MISSING when it has none.
status(scan) := scan.scan.status if is_string(scan.scan.status)

else := "MISSING"

_status_phrases := {
	"PENDING": "scan not finished (PENDING)",
	"SCANNING": "scan not finished (SCANNING)",
	"FINISHED_FAILED": "scan failed (FINISHED_FAILED)",
	"FINISHED_UNSUPPORTED": "scan unsupported",
	"MISSING": "no scan found (MISSING)",
}

_detail(scan) := sprintf(": %s", [scan.scan.detail]) if {
	is_string(scan.scan.detail)
	scan.scan.detail != ""
} else := ""

# METADATA
# description: What every scan message expects.
expected_scan := "expected a finished vulnerability scan (FINISHED_SUCCESS) from Artifact Analysis, Trivy or Grype"

# METADATA
# description: A result that carries every finding it is about in "findings" (its message names the first five).
listing_result(msg, findings) := object.union(context.result(msg, ""), {"findings": findings})
