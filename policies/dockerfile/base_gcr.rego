# METADATA
# title: base image not on Container Registry
# description: |
#   Container Registry (gcr.io and its regional hosts) is deprecated in favour of
#   Artifact Registry. Bases in data.gate.params.dockerfile.base_images.exceptions
#   (default gcr.io/distroless/** and Docker Official Images) are exempt: distroless is
#   published there by Google. The action is the image policies' parameter
#   data.gate.params.gcr.action: "warn" (the default, in data.json) or anything else to
#   deny; a missing action denies, and without exceptions only distroless on gcr.io is
#   reported too.
# custom:
#   id: GATE-DF-005
#   severity: low
#   remediation: >-
#     Build FROM the image's Artifact Registry location (LOCATION-docker.pkg.dev/...),
#     or add the base to data.gate.params.dockerfile.base_images.exceptions.
#   scope: dockerfile
package gate.dockerfile.base_gcr

import data.gate.dockerfile.lib.lint
import data.gate.lib.params

_warn_only if params.of("gcr").action == "warn"

_on_gcr(host) if lower(host) == "gcr.io"

_on_gcr(host) if glob.match("*.gcr.io", [], lower(host))

_findings contains lint.finding(msg, stage.line) if {
	some stage in input.stages
	stage.base.kind == "image"
	_on_gcr(stage.base.image.registry)
	not lint.glob_any(lint.base_exceptions, stage.base.image.name)
	msg := sprintf(
		"FROM %s (line %d) is on Container Registry (%s), which is deprecated; expected Artifact Registry (*-docker.pkg.dev)",
		[stage.base.text, stage.line, stage.base.image.registry],
	)
}

# METADATA
# description: A Container Registry base, when the action is not "warn" (a missing action denies).
violation contains finding if {
	not _warn_only
	some finding in _findings
}

# METADATA
# description: A Container Registry base, when the action is "warn".
warning contains finding if {
	_warn_only
	some finding in _findings
}
