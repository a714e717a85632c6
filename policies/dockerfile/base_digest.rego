# METADATA
# title: base image pinned by digest
# description: |
#   A tag can be moved to other content at any time; FROM image:tag@sha256:... builds on
#   the same bytes until someone updates the digest (Renovate and Dependabot do).
#   data.gate.params.dockerfile.base_digest.action is "warn" (the default, in data.json),
#   "deny" or "off"; a missing or unknown action denies.
# custom:
#   id: GATE-DF-004
#   severity: low
#   remediation: >-
#     Pin each FROM by digest (image:tag@sha256:..., from `docker buildx imagetools
#     inspect` or `crane digest`) and let a dependency bot keep it current.
#   scope: dockerfile
package gate.dockerfile.base_digest

import data.gate.dockerfile.lib.lint

_warn_only if lint.dockerfile.base_digest.action == "warn"

_off if lint.dockerfile.base_digest.action == "off"

_unpinned contains lint.finding(msg, stage.line) if {
	some stage in input.stages
	stage.base.kind == "image"
	stage.base.image.digest == ""
	msg := sprintf(
		"FROM %s (line %d) is not pinned by digest; expected %s@sha256:... so rebuilds use the same base",
		[stage.base.text, stage.line, stage.base.text],
	)
}

# METADATA
# description: Unpinned bases, when the action is "deny" (or missing, or unknown).
violation contains finding if {
	not _warn_only
	not _off
	some finding in _unpinned
}

# METADATA
# description: Unpinned bases, when the action is "warn".
warning contains finding if {
	_warn_only
	some finding in _unpinned
}
