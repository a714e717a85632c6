# METADATA
# title: vulnerability scan and severity thresholds
# description: |
#   The image must have a finished vulnerability scan (FINISHED_SUCCESS) and no finding
#   above the thresholds, in the style of Binary Authorization's vulnerabilityCheck:
#   maximum_fixable_severity (default HIGH) for findings with a fix, and
#   maximum_unfixable_severity (default CRITICAL, so unfixable findings never deny on
#   severity alone) for findings without one; thresholds are BLOCK_ALL, MINIMAL, LOW,
#   MEDIUM, HIGH, CRITICAL or ALLOW_ALL, and a finding violates when its effective
#   severity is above the threshold. UNSPECIFIED findings rank as unspecified_severity
#   (default CRITICAL: fail closed). blocked_cves always deny and win over allowed_cves;
#   allowed_cves never deny; both are bare ids matched against a finding's id and its
#   aliases, case-insensitively. An unknown threshold value blocks every finding.
# custom:
#   id: GATE-IMG-002
#   severity: high
#   remediation: >-
#     Rebuild the image on patched base images and packages (upgrade to the fixed versions named), wait for the scan
#     to finish, or after review list accepted CVEs in data.gate.params.vulnerabilities.allowed_cves.
#   scope: image
package gate.policies.vulnerabilities

import data.gate.lib.context
import data.gate.lib.severity

default _configured := {}

_configured := data.gate.params.vulnerabilities

_defaults := {
	"maximum_fixable_severity": "HIGH",
	"maximum_unfixable_severity": "CRITICAL",
	"allowed_cves": [],
	"blocked_cves": [],
	"unspecified_severity": "CRITICAL",
}

_params := object.union(_defaults, _configured)

# null when no vulnerability source was consulted (or the key is missing).
default _scan := null

_scan := input.image.vulnerabilities

# Performance: real images carry 1,000+ findings, so the work per finding is one pass of
# two table lookups and a comparison (the tables and every rule a loop reads are bound to
# local variables first: on the embedded engine a rule reference costs more than the
# lookup), plus one pass that counts the findings outside the schema. Nothing else runs
# per finding: messages, the CVE lists and the slow path for findings outside the schema
# run only for the findings that are over a threshold (or, with a non-empty blocked
# list, on it) or outside the schema.

# Allowed and blocked ids, upper case, built once.
_allowed contains upper(id) if some id in _params.allowed_cves

_blocked contains upper(id) if some id in _params.blocked_cves

_allowed_or_blocked := _allowed | _blocked

_listed(f, ids) if upper(f.id) in ids

_listed(f, ids) if {
	some alias in f.aliases
	upper(alias) in ids
}

# Decision rank per severity name, UNSPECIFIED ranked as unspecified_severity; built once.
_ranks := object.union(severity.ranks, {"UNSPECIFIED": severity.ranks[severity.unspecified_as]})

# The threshold rank for fixable (true) and unfixable (false) findings; built once.
_limits := {
	true: severity.threshold_rank(_params.maximum_fixable_severity),
	false: severity.threshold_rank(_params.maximum_unfixable_severity),
}

default _findings := []

_findings := _scan.findings

# The findings above their threshold, as [finding, severity, fixable]: severity is one
# of the severity names (UNSPECIFIED for an unknown one), fixable a boolean.
_over_threshold := array.concat(
	_over_in_schema(_findings, _ranks, _limits),
	[over | some over in _over_outside_schema],
)

# The common path: a finding in the schema, two lookups and a comparison. The tables are
# arguments so that the loop reads local variables.
_over_in_schema(findings, ranks, limits) := [[f, f.effective_severity, f.fixable] |
	some f in findings
	ranks[f.effective_severity] > limits[f.fixable]
]

_in_schema_count(findings, ranks, limits) := count([1 |
	some f in findings
	ranks[f.effective_severity]
	limits[f.fixable]
])

# How many findings a loop over _findings visits (count would fail on a number).
_finding_count := count([1 | some _ in _findings])

_outside_schema if _finding_count > _in_schema_count(_findings, _ranks, _limits)

# A finding outside the schema (effective_severity not an upper-case severity name, or
# fixable not a boolean) takes the slow path and fails closed: an unknown severity ranks
# as unspecified_severity and an unknown fixable counts as fixable. object.get keeps the
# negated expressions defined: OPA fails "not f(x)" for an undefined x, regorus holds it.
# Neither body runs unless some finding is outside the schema.
_over_outside_schema contains [f, name, fixable] if {
	_outside_schema
	some f in _findings
	not _ranks[object.get(f, "effective_severity", null)]
	name := _severity(f)
	fixable := _fixable(f)
	severity.rank(name) > _limits[fixable]
}

_over_outside_schema contains [f, name, fixable] if {
	_outside_schema
	some f in _findings
	not is_boolean(object.get(f, "fixable", null))
	name := _severity(f)
	fixable := _fixable(f)
	severity.rank(name) > _limits[fixable]
}

_severity(f) := upper(f.effective_severity) if {
	severity.known(f.effective_severity)
} else := upper(f.severity) if {
	severity.known(f.severity)
} else := "UNSPECIFIED"

_fixable(f) := false if f.fixable == false

else := true

_threshold_parameters := {true: "maximum_fixable_severity", false: "maximum_unfixable_severity"}

# How each severity name reads in a message; built once.
_severity_phrases := object.union(
	{name: name | some name, _ in severity.ranks},
	{"UNSPECIFIED": sprintf("UNSPECIFIED, ranked as %s", [severity.unspecified_as])},
)

_fix_phrase(f, fixable) := sprintf("fixed in %s", [f.fixed_version]) if {
	fixable == true
	is_string(f.fixed_version)
	f.fixed_version != ""
} else := "a fix is available" if {
	f.fixable == true
} else := "no fix available" if {
	f.fixable == false
} else := "fix status unknown"

# A finding in a message, with its severity name and fixable as _over_threshold has them.
_describe(f, name, fixable) := sprintf("%s (%s) in package %s %s, %s", [
	f.id,
	_severity_phrases[name],
	object.get(f, "package", "?"),
	object.get(f, "installed_version", "?"),
	_fix_phrase(f, fixable),
])

_status_phrases := {
	"PENDING": "scan not finished (PENDING)",
	"SCANNING": "scan not finished (SCANNING)",
	"FINISHED_FAILED": "scan failed (FINISHED_FAILED)",
	"FINISHED_UNSUPPORTED": "scan unsupported",
	"MISSING": "no scan found (MISSING)",
}

default _status := "MISSING"

_status := _scan.scan.status if is_string(_scan.scan.status)

# Only for a scan that did not finish: the embedded engine evaluates every rule of a
# policy package, needed or not.
_status_phrase := object.get(_status_phrases, _status, sprintf("scan status %s", [_status])) if {
	_status != "FINISHED_SUCCESS"
}

default _detail := ""

_detail := sprintf(": %s", [_scan.scan.detail]) if {
	is_string(_scan.scan.detail)
	_scan.scan.detail != ""
}

_subject := context.subject("")

_expected_scan := "expected a finished vulnerability scan (FINISHED_SUCCESS) from Artifact Analysis, Trivy or Grype"

# METADATA
# description: No vulnerability source was consulted.
violation contains context.result(msg, "") if {
	_scan == null
	msg := sprintf("no vulnerability scan result for %s; %s", [context.subject(""), _expected_scan])
}

# METADATA
# description: The scan did not finish successfully.
violation contains context.result(msg, "") if {
	_scan != null
	_status != "FINISHED_SUCCESS"
	msg := sprintf("%s: %s%s; %s", [context.subject(""), _status_phrase, _detail, _expected_scan])
}

# METADATA
# description: A finding above its threshold that is neither allowed nor blocked.
violation contains context.result(msg, "") if {
	some [f, name, fixable] in _over_threshold
	not _listed(f, _allowed_or_blocked)
	parameter := _threshold_parameters[fixable]
	msg := sprintf("%s: %s, exceeds %s %s; %s", [
		_subject,
		_describe(f, name, fixable),
		parameter,
		upper(_params[parameter]),
		"expected no such finding (upgrade the package, or list the id in allowed_cves after review)",
	])
}

# METADATA
# description: A finding on the blocked list.
violation contains context.result(msg, "") if {
	count(_blocked) > 0
	some f in _findings
	_listed(f, _blocked)
	msg := sprintf(
		"%s: %s, is on the blocked list (blocked_cves); expected the image not to contain it",
		[_subject, _describe(f, _severity(f), _fixable(f))],
	)
}

# METADATA
# description: A threshold parameter that is not a known threshold (it blocks everything).
violation contains context.result(msg, "") if {
	some parameter in ["maximum_fixable_severity", "maximum_unfixable_severity"]
	not severity.valid_threshold(_params[parameter])
	msg := sprintf(
		"policy parameter vulnerabilities.%s is %v, not one of %s; every finding is treated as above it (BLOCK_ALL)",
		[parameter, _params[parameter], concat(", ", _threshold_names)],
	)
}

_threshold_names := ["BLOCK_ALL", "MINIMAL", "LOW", "MEDIUM", "HIGH", "CRITICAL", "ALLOW_ALL"]
