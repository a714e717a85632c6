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

default _configured := {}

_configured := data.gate.params.tags

_defaults := {"disallowed": ["latest"]}

_params := object.union(_defaults, _configured)

# Defaults keep every call below defined: OPA evaluates "not f(x)" with an undefined x as
# undefined, regorus as true, so an argument must never be undefined.
default _tag := null

_tag := input.image.reference.tag

default _digest := null

_digest := input.image.reference.digest

_disallowed contains lower(tag) if some tag in _params.disallowed

_set(value) if {
	is_string(value)
	value != ""
}

_expected := "expected a digest, with a specific version tag if any"

# METADATA
# description: The tag is disallowed.
violation contains context.result(msg, "") if {
	_set(_tag)
	lower(_tag) in _disallowed
	msg := sprintf(
		"%s uses the disallowed tag '%s'; %s (disallowed: %s)",
		[context.subject(""), _tag, _expected, concat(", ", sort(_disallowed))],
	)
}

# METADATA
# description: Neither a tag nor a digest, i.e. the implicit latest.
violation contains context.result(msg, "") if {
	not _set(_tag)
	not _set(_digest)
	msg := sprintf(
		"%s has no tag and no digest, so it pulls the implicit 'latest' tag; %s",
		[context.subject(""), _expected],
	)
}
