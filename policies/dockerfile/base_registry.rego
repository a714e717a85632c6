# METADATA
# title: base image from an approved registry
# description: |
#   The same approved patterns as the image policies (data.gate.params.registries.approved,
#   globs over registry/repository; the default, *-docker.pkg.dev/**, is in data.json
#   alone, and without it nothing is approved), plus the exceptions in
#   data.gate.params.dockerfile.base_images.exceptions (default, in data.json too,
#   gcr.io/distroless/** and the Docker Official Images, docker.io/library/*). Without
#   either parameter, the bases it lists are not approved.
# custom:
#   id: GATE-DF-006
#   severity: high
#   remediation: >-
#     Build FROM an image in an approved registry (a mirror in Artifact Registry), or add
#     the base to data.gate.params.dockerfile.base_images.exceptions.
#   scope: dockerfile
package gate.dockerfile.base_registry

import data.gate.dockerfile.lib.lint
import data.gate.lib.params

_approved := lint.array_at(params.of("registries"), ["approved"])

# METADATA
# description: A base image that no approved pattern and no exception matches.
violation contains lint.finding(msg, stage.line) if {
	some stage in input.stages
	stage.base.kind == "image"
	not lint.glob_any(_approved, stage.base.image.name)
	not lint.glob_any(lint.base_exceptions, stage.base.image.name)
	msg := sprintf(
		"FROM %s (line %d): %s is not from an approved registry; expected a name matching one of %s",
		[stage.base.text, stage.line, stage.base.image.name, concat(", ", array.concat(_approved, lint.base_exceptions))],
	)
}
