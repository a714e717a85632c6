# METADATA
# title: slim or distroless base in the final stage
# description: |
#   The full-size language images (python, node, golang, ...) carry compilers, package
#   managers and hundreds of packages the application does not need at run time: more
#   size, more CVEs. The final stage's base (through any FROM of an earlier stage)
#   should be a -slim or -alpine variant, or distroless. The images and the variant
#   markers are data.gate.params.dockerfile.full_size.images and .slim_markers (defaults
#   in data.json). Without the images nothing is full-size; without the markers no tag
#   counts as slim, so every listed image is reported.
# custom:
#   id: GATE-DF-007
#   severity: medium
#   remediation: >-
#     Build in a full image if you must, then copy the result into a -slim variant or a
#     distroless image (gcr.io/distroless/...) in a final stage.
#   scope: dockerfile
package gate.dockerfile.full_base

import data.gate.dockerfile.lib.lint

_images := lint.array_at(lint.dockerfile, ["full_size", "images"])

_markers := lint.array_at(lint.dockerfile, ["full_size", "slim_markers"])

_slim(tag) if {
	some marker in _markers
	contains(lower(tag), marker)
}

# METADATA
# description: The final stage is built on a full-size language image.
violation contains lint.finding(msg, lint.final_stage.line) if {
	origin := lint.final_stage.origin
	origin.kind == "image"
	origin.image.name in _images
	not _slim(origin.image.tag)
	msg := sprintf(
		"the final stage (line %d) is built on the full-size image %s; expected a -slim variant or distroless",
		[lint.final_stage.line, origin.text],
	)
}
