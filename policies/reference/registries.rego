# METADATA
# title: approved registries
# description: |
#   The image name (registry/repository) must match one of the approved patterns in
#   data.gate.params.registries.approved. Patterns are globs over the whole name with "/"
#   as separator: "*" stays within one segment, "**" spans any number of segments, so
#   "*-docker.pkg.dev/my-project/**" approves every repository of my-project in every
#   Artifact Registry location and nothing on any other host. The default patterns live
#   in data.json alone: no approved patterns (or none configured) approve nothing.
# custom:
#   id: GATE-REF-002
#   severity: high
#   remediation: >-
#     Push the image to an approved registry or repository (see the approved patterns in the message), or add its
#     registry to data.gate.params.registries.approved.
#   scope: reference
package gate.policies.registries

import data.gate.lib.context
import data.gate.lib.params
import data.gate.lib.patterns

# METADATA
# scope: document
# description: |
#   The approved patterns: data.gate.params.registries.approved (default in data.json),
#   none when it is not a list. gate.main.fetchable reads them too.
default approved := []

approved := configured if {
	configured := params.of("registries").approved
	is_array(configured)
}

# Read from input as a whole (always defined): OPA evaluates "not f(x)" with an undefined
# x as undefined, regorus as true, so an argument must never be undefined. A missing or
# non-string name matches nothing.
_approved_name(doc) if patterns.match_any(approved, doc.image.reference.name)

_name(doc) := doc.image.reference.name if is_string(doc.image.reference.name)

else := ""

# The approved patterns, quoted, for the message.
_quoted(approved) := concat(", ", [sprintf("'%s'", [p]) | some p in approved]) if {
	count(approved) > 0
} else := "(no approved patterns are configured)"

# METADATA
# description: The image name matches no approved pattern.
violation contains context.result(msg, "") if {
	not _approved_name(input)
	msg := sprintf(
		"%s is not from an approved registry: '%s' matches none of the approved patterns %s; %s",
		[
			context.subject(""), _name(input), _quoted(approved),
			"expected an image whose registry/repository matches one of them",
		],
	)
}
