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
#   aliases, case-insensitively. An unknown or missing threshold blocks every finding.
#   One violation per threshold broken (and one for the blocked list) names the first
#   findings and how many more there are; its "findings" lists every one.
# custom:
#   id: GATE-IMG-002
#   severity: high
#   remediation: >-
#     Rebuild the image on patched base images and packages (upgrade to the fixed versions named), wait for the scan
#     to finish, or after review list accepted CVEs in data.gate.params.vulnerabilities.allowed_cves.
#   scope: image
package gate.policies.vulnerabilities

import data.gate.lib.context
import data.gate.lib.findings
import data.gate.lib.params
import data.gate.lib.severity

_params := params.of("vulnerabilities")

# null when no vulnerability source was consulted (or the key is missing).
default _scan := null

_scan := input.image.vulnerabilities

default _findings := []

_findings := _scan.findings if is_array(_scan.findings)

# Performance (see policies/README.md): real images carry 1,000+ findings. The work per
# finding is one pass that checks every finding is in the schema and one pass per
# threshold that can be broken (a set membership and a comparison, on local variables);
# with the default thresholds only the fixable one can. Everything else (the CVE lists,
# the slow path for findings outside the schema, messages) runs only for the findings
# that break a threshold, or when some finding is outside the schema. Rules that only
# serve findings are guarded by _has_findings: the embedded engine evaluates every rule
# of a policy package, needed or not.
_has_findings if count(_findings) > 0

# The threshold rank for fixable (true) and unfixable (false) findings; a missing or
# unknown threshold is BLOCK_ALL.
_limits[fixable] := severity.threshold_rank(object.get(_params, findings.parameter(fixable), null)) if {
	_has_findings
	some fixable in [true, false]
}

# The severity names above the threshold of each kind, UNSPECIFIED ranked as
# unspecified_severity.
_over_names[fixable] := {name |
	some name, rank in severity.decision_ranks
	rank > limit
} if {
	some fixable, limit in _limits
}

# Every finding has an upper-case severity name and a boolean fixable (as gate builds
# them), so the fast path below sees every finding.
_in_schema if {
	_has_findings
	names := severity.names
	booleans := {true, false}
	every f in _findings {
		f.effective_severity in names
		f.fixable in booleans
	}
}

# A finding outside the schema (effective_severity not an upper-case severity name, or
# fixable not a boolean) takes the slow path and fails closed: an unknown severity ranks
# as unspecified_severity and an unknown fixable counts as fixable. Nothing here runs
# unless some finding is outside the schema.
_slow[fixable] := [f |
	some f in _findings
	not findings.conforms(f)
	findings.fixable(f) == fixable
	severity.rank(findings.severity_of(f)) > limit
] if {
	not _in_schema
	some fixable, limit in _limits
}

# The findings above the threshold of each kind, in the order of the scan (those outside
# the schema last), without those on the allowed or the blocked list.
_over[fixable] := findings.unlisted(array.concat(fast, slow), _allowed | _blocked) if {
	some fixable, names in _over_names
	count(names) > 0
	fast := findings.above(_findings, names, fixable)
	slow := object.get(_slow, fixable, [])
}

# Allowed and blocked ids, upper case, built only when there are findings.
_allowed contains upper(id) if {
	_has_findings
	some id in object.get(_params, "allowed_cves", [])
}

_blocked contains upper(id) if {
	_has_findings
	some id in object.get(_params, "blocked_cves", [])
}

# The findings on the blocked list, in the order of the scan.
_on_blocked_list := [f |
	some f in _findings
	findings.listed(f, _blocked)
] if {
	count(_blocked) > 0
}

# The scan finished successfully (a rule, not "not _scan.scan.status == …": OPA would lift
# the reference out of the negation and leave a scan without a status undefined).
_finished if _scan.scan.status == "FINISHED_SUCCESS"

# METADATA
# description: No vulnerability source was consulted.
violation contains context.result(msg, "") if {
	_scan == null
	msg := sprintf("no vulnerability scan result for %s; %s", [context.subject(""), findings.expected_scan])
}

# METADATA
# description: A finished scan whose findings are not a list (gate always builds one) denies.
violation contains context.result(msg, "") if {
	is_object(_scan)
	found := object.get(_scan, "findings", [])
	not is_array(found)
	_finished
	msg := sprintf("%s: the scan's findings are not a list (type %s); %s", [
		context.subject(""), type_name(found),
		"expected input.image.vulnerabilities.findings to be a list of findings",
	])
}

# METADATA
# description: The scan did not finish successfully.
violation contains context.result(findings.status_message(_scan), "") if {
	_scan != null
	not _finished
}

# METADATA
# description: |
#   Findings above the threshold of their kind (fixable or not) that are neither allowed
#   nor blocked: one violation per threshold, listing every finding in "findings".
violation contains findings.listing_result(msg, over) if {
	some fixable, over in _over
	count(over) > 0
	parameter := findings.parameter(fixable)
	msg := findings.threshold_message(over, parameter, _params)
}

# METADATA
# description: Findings on the blocked list, in one violation that lists every one in "findings".
violation contains findings.listing_result(msg, _on_blocked_list) if {
	count(_on_blocked_list) > 0
	msg := findings.blocked_message(_on_blocked_list)
}

# METADATA
# description: A threshold parameter that is not a known threshold (it blocks everything).
violation contains context.result(msg, "") if {
	some parameter in ["maximum_fixable_severity", "maximum_unfixable_severity"]
	value := object.get(_params, parameter, null)
	not value in {"BLOCK_ALL", "MINIMAL", "LOW", "MEDIUM", "HIGH", "CRITICAL", "ALLOW_ALL"}
	not severity.valid_threshold(value)
	msg := sprintf(
		"policy parameter vulnerabilities.%s is %v, not one of %s; every finding is treated as above it (BLOCK_ALL)",
		[parameter, value, "BLOCK_ALL, MINIMAL, LOW, MEDIUM, HIGH, CRITICAL, ALLOW_ALL"],
	)
}
