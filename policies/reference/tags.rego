# METADATA
# title: disallowed tags
# description: |
#   Mutable, meaningless tags (data.gate.params.tags.disallowed, default ["latest"],
#   compared case-insensitively) are refused, with or without a digest beside them, and
#   so is a reference with neither a tag nor a digest, which pulls the implicit "latest".
# custom:
#   id: GATE-REF-004
#   severity: medium
#   remediation: >-
#     Reference the image by digest, with a specific version tag (e.g. 1.27.3) rather than 'latest' if you keep a
#     tag at all.
#   scope: reference
package gate.policies.tags

import data.gate.lib.context
import data.gate.lib.params

# METADATA
# description: The tag is disallowed (compared case-insensitively).
violation contains context.result(msg, "") if {
	tag := input.image.reference.tag
	is_string(tag)
	some disallowed in _disallowed
	lower(disallowed) == lower(tag)
	msg := sprintf(
		"%s uses the disallowed tag '%s'; %s (disallowed: %s)",
		[context.subject(""), tag, _expected, concat(", ", sort({lower(t) | some t in _disallowed}))],
	)
}

# METADATA
# description: Neither a tag nor a digest, i.e. the implicit latest.
violation contains context.result(msg, "") if {
	not _set(input, "tag")
	not _set(input, "digest")
	msg := sprintf(
		"%s has no tag and no digest, so it pulls the implicit 'latest' tag; %s",
		[context.subject(""), _expected],
	)
}

# Read from input as a whole (always defined): OPA evaluates "not f(x)" with an undefined
# x as undefined, regorus as true, so an argument must never be undefined.
_set(doc, key) if {
	value := doc.image.reference[key]
	is_string(value)
	value != ""
}

_expected := "expected a digest, with a specific version tag if any"

# The disallowed tags; none when the parameter is missing or not a list.
default _disallowed := []

_disallowed := tags if {
	tags := params.of("tags").disallowed
	is_array(tags)
}
