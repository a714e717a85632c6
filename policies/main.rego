# METADATA
# title: gate decision
# description: |
#   Collects the results of every policy in data.gate.policies, applies exemptions and
#   builds the decision that every caller reads. An empty result never allows: callers
#   treat an undefined decision as a deny.
package gate.main

import data.gate.lib.context
import data.gate.lib.patterns

_image_name := input.image.reference.name

# Built by gate's policy loader from every policy package's METADATA. Read once into a
# variable: regorus looks through every module for each reference to a data path that no
# rule defines (data.gate.params.exemptions below likewise).
default _catalog := {}

_catalog := catalog if {
	catalog := data.gate.catalog
	is_object(catalog)
}

# What each result of a policy is described with: the policy's name and catalog entry.
# Built only for a policy that has results. A policy whose entry lacks a field has no
# description, and its results are left out.
_description(name) := {
	"policy": name,
	"id": meta.id,
	"severity": meta.severity,
	"title": meta.title,
	"remediation": meta.remediation,
} if {
	meta := _catalog[name]
}

# The described violations and warnings of policies: data.gate.policies read as a whole
# (see the decision rule), or the reference packages. Its packages are walked directly,
# so a policy without results costs one lookup, and each result found is described; a
# package that the catalog does not describe (no METADATA, a test package) adds nothing.
_violations(policies) := [object.union(description, finding) |
	some name, policy in policies
	some finding in policy.violation
	description := _description(name)
]

_warnings(policies) := [object.union(description, finding) |
	some name, policy in policies
	some finding in policy.warning
	description := _description(name)
]

_reference_names contains name if {
	some name, meta in _catalog
	meta.scope == "reference"
}

# The exemptions whose pattern matches this image, computed once per evaluation (not
# once per finding: an image can carry a thousand findings).
_matching_exemptions := [exemption |
	some exemption in _exemptions
	patterns.match(exemption.pattern, _image_name)
]

# The exemptions that count: each an object whose pattern and reason are non-empty
# strings. An exemption without a reason (missing, "", or not a string) exempts nothing.
_exemptions := [exemption |
	some exemption in _configured_exemptions
	_counts(exemption)
]

default _configured_exemptions := []

_configured_exemptions := exemptions if {
	exemptions := data.gate.params.exemptions
	is_array(exemptions)
}

_counts(exemption) if {
	is_string(exemption.pattern)
	exemption.pattern != ""
	is_string(exemption.reason)
	exemption.reason != ""
}

# The reasons of every exemption that covers the policy id.
_exemption_reasons(id) := [exemption.reason |
	some exemption in _matching_exemptions
	_covers(exemption, id)
]

# No "policies" (missing, null or []) covers every policy; anything else but a list of
# ids (a lone string, say) covers none.
_covers(exemption, _) if object.get(exemption, "policies", null) == null

_covers(exemption, _) if exemption.policies == []

_covers(exemption, id) if {
	is_array(exemption.policies)
	id in exemption.policies
}

# The violations an exemption covers, and the others, as [kept, exempted]. Without a
# violation, or without an exemption that matches the image (the usual cases), no
# exemption is looked at. The reasons are looked up once per policy id, not once per
# finding.
_exempt(violations) := [violations, []] if {
	violations == []
} else := [violations, []] if {
	count(_matching_exemptions) == 0
} else := [
	[v | some v in violations; reasons[v.id] == []],
	[object.union(v, {"reason": concat("; ", reasons[v.id])}) |
		some v in violations
		reasons[v.id] != []
	],
] if {
	reasons := {id: _exemption_reasons(id) | some id in {v.id | some v in violations}}
}

# No policy at all (data.gate.catalog missing or empty, e.g. an OPA server loaded without
# the catalog) must not allow: an empty policy set denies, and says why. scope is what the
# catalog has of the decision's scope: the catalog itself, or the reference names.
_nothing_evaluated(scope) := [v |
	count(scope) == 0
	v := {
		"policy": "main",
		"id": "GATE-MAIN-001",
		"severity": "critical",
		"title": "no policy evaluated",
		"remediation": "Load the policies with their catalog (data.gate.catalog), as gate's policy loader does.",
		"msg": "no policy was evaluated: data.gate.catalog names no policy of this scope; expected at least one",
		"image": context.image,
		"platform": "",
		"container": "",
	}
]

_decide(scope, policies) := {
	"allowed": count(violations) == 0,
	"violations": violations,
	"warnings": _warnings(policies),
	"exempted": exempted,
} if {
	[kept, exempted] := _exempt(_violations(policies))
	violations := array.concat(kept, _nothing_evaluated(scope))
}

# METADATA
# description: |
#   The decision over every policy. data.gate.policies is read as a whole, once: the
#   embedded engine (regorus) walks every package under it again for each lookup
#   data.gate.policies[name], which cost more than most policies.
# entrypoint: true
decision := _decide(_catalog, data.gate.policies)

# METADATA
# description: The decision over the reference-scoped policies alone, taken before any fetch.
# entrypoint: true
reference_decision := _decide(_reference_names, _reference_policies)

# Only the reference-scoped packages: OPA evaluates no image policy for this decision
# (the embedded engine answers it from an engine that has none), so an error in an image
# policy cannot fail it.
_reference_policies[name] := data.gate.policies[name] if some name in _reference_names

# METADATA
# scope: document
# description: |
#   The registry/repository name patterns gate may contact to fetch an image's facts: the
#   approved patterns of the registry policy (data.gate.params.registries.approved), and
#   the pattern of every exemption that covers the registry policy, since an image it
#   exempts passes the reference decision. gate's registry client asks this rule once
#   per policy set and refuses every other name before it opens a connection. A policy
#   set without the registry policy lets gate contact nothing.
# entrypoint: true
default fetchable := []

fetchable := sort({pattern |
	some pattern in data.gate.policies.registries.approved
	is_string(pattern)
} | {exemption.pattern |
	some exemption in _exemptions
	_covers(exemption, id)
}) if {
	id := _catalog.registries.id
}
