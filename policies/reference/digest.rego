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

# Read from input as a whole (always defined): OPA evaluates "not f(x)" with an undefined
# x as undefined, regorus as true, so an argument must never be undefined.
_has_digest(doc) if {
	digest := doc.image.reference.digest
	is_string(digest)
	digest != ""
}

# METADATA
# description: No digest, only a tag or neither a tag nor a digest.
violation contains context.result(_message(input), "") if not _has_digest(input)

_message(doc) := sprintf(
	"%s is referenced by tag '%s' only; expected a digest (@sha256:…) %s",
	[context.subject(""), tag, "so that the content cannot change under the same name"],
) if {
	tag := doc.image.reference.tag
	is_string(tag)
	tag != ""
} else := sprintf(
	"%s has neither a tag nor a digest (it resolves to the implicit 'latest' tag); expected a digest (@sha256:…)",
	[context.subject("")],
)
