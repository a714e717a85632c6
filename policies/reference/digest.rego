# METADATA
# title: image referenced by digest
# description: |
#   An image must be named by its content digest (name@sha256:…): a tag can be moved to
#   other content at any time, a digest cannot. A tag beside the digest is fine; it is
#   only a label for people.
# custom:
#   id: GATE-REF-001
#   severity: high
#   remediation: >-
#     Reference the image by digest (e.g. REGISTRY/REPOSITORY@sha256:…, from `gcloud artifacts docker images
#     describe` or your build output) instead of by tag alone.
#   scope: reference
package gate.policies.digest

import data.gate.lib.context

# Defaults keep every call below defined: OPA evaluates "not f(x)" with an undefined x as
# undefined, regorus as true, so an argument must never be undefined.
default _tag := null

_tag := input.image.reference.tag

default _digest := null

_digest := input.image.reference.digest

_set(value) if {
	is_string(value)
	value != ""
}

# METADATA
# description: A tag and no digest.
violation contains context.result(msg, "") if {
	not _set(_digest)
	_set(_tag)
	msg := sprintf(
		"%s is referenced by tag '%s' only; expected a digest (@sha256:…) %s",
		[context.subject(""), _tag, "so that the content cannot change under the same name"],
	)
}

# METADATA
# description: Neither a tag nor a digest.
violation contains context.result(msg, "") if {
	not _set(_digest)
	not _set(_tag)
	msg := sprintf(
		"%s has neither a tag nor a digest (it resolves to the implicit 'latest' tag); expected a digest (@sha256:…)",
		[context.subject("")],
	)
}
