# METADATA
# title: gate decision
# description: |
#   Collects the results of every policy in data.gate.policies, applies exemptions and
#   builds the decision that every caller reads. An empty result never allows: callers
#   treat an undefined decision as a deny.
package gate.main

import data.gate.lib.patterns

_image_name := input.image.reference.name

_results(names, kind) := {result |
	some name in names
	some finding in data.gate.policies[name][kind]
	result := object.union(_describe(name), finding)
}

_describe(name) := {
	"policy": name,
	"id": data.gate.catalog[name].id,
	"severity": data.gate.catalog[name].severity,
	"title": data.gate.catalog[name].title,
	"remediation": data.gate.catalog[name].remediation,
}

_all_names := {name | some name, _ in data.gate.catalog}

_reference_names := {name | some name, meta in data.gate.catalog; meta.scope == "reference"}

# The reasons of every exemption that covers a finding.
_exemption_reasons(finding) := [exemption.reason |
	some exemption in data.gate.params.exemptions
	patterns.match(exemption.pattern, _image_name)
	_covers(exemption, finding.id)
]

_covers(exemption, _) if count(object.get(exemption, "policies", [])) == 0

_covers(exemption, id) if id in exemption.policies

_split(names) := {
	"violations": [v | some v in _results(names, "violation"); count(_exemption_reasons(v)) == 0],
	"exempted": [object.union(v, {"reason": concat("; ", reasons)}) |
		some v in _results(names, "violation")
		reasons := _exemption_reasons(v)
		count(reasons) > 0
	],
	"warnings": [w | some w in _results(names, "warning")],
}

_decide(names) := object.union(_split(names), {"allowed": count(_split(names).violations) == 0})

# METADATA
# description: The decision over every policy.
decision := _decide(_all_names)

# METADATA
# description: The decision over the reference-scoped policies alone, taken before any fetch.
reference_decision := _decide(_reference_names)
