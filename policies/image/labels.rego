# METADATA
# title: required labels
# description: |
#   Every platform's image config must carry the labels in
#   data.gate.params.labels.required (default: org.opencontainers.image.source and
#   org.opencontainers.image.revision, which trace the image to its source) with a
#   non-empty value. An empty list requires nothing. The action is "deny" (default) or
#   "warn"; any other value denies.
# custom:
#   id: GATE-IMG-005
#   severity: low
#   remediation: >-
#     Add the missing labels at build time (e.g. docker build --label org.opencontainers.image.source=URL --label
#     org.opencontainers.image.revision=COMMIT).
#   scope: image
package gate.policies.labels

import data.gate.lib.context
import data.gate.lib.params

_params := params.of("labels")

_present(p, label) if {
	value := p.config.labels[label]
	is_string(value)
	value != ""
}

_missing contains [platform, msg] if {
	some p in input.image.platforms
	some label in _params.required
	not _present(p, label)
	platform := context.platform(p)
	msg := sprintf(
		"%s lacks the required label %s (missing or empty); expected every label in %s",
		[context.subject(platform), label, concat(", ", _params.required)],
	)
}

_warn_only if _params.action == "warn"

# METADATA
# description: A required label is missing, when the action is not "warn".
violation contains context.result(msg, platform) if {
	not _warn_only
	some [platform, msg] in _missing
}

# METADATA
# description: The required labels are not a list (missing from a policy set served without data.json).
violation contains context.result(msg, "") if {
	value := object.get(_params, "required", null)
	not is_array(value)
	msg := sprintf(
		"policy parameter labels.required is %v, not a list of label names, so no label can be checked; %s",
		[value, "expected the parameter as in gate's data.json ([] requires nothing)"],
	)
}

# METADATA
# description: A required label is missing, when the action is "warn".
warning contains context.result(msg, platform) if {
	_warn_only
	some [platform, msg] in _missing
}
