# METADATA
# title: base image has a specific tag
# description: |
#   A FROM without a tag pulls the implicit "latest"; "latest" and the other tags in
#   data.gate.params.tags.disallowed (the image policies' parameter, default ["latest"] in
#   data.json) move with every upstream release; without that parameter only a FROM with
#   no tag is reported. A FROM whose image depends on a build argument without a default
#   cannot be checked and is a warning; a reference that is not valid is a violation.
# custom:
#   id: GATE-DF-003
#   severity: medium
#   remediation: >-
#     Name a specific version tag in FROM (e.g. python:3.12.7-slim), pinned by digest
#     as well (python:3.12.7-slim@sha256:...).
#   scope: dockerfile
package gate.dockerfile.base_tag

import data.gate.dockerfile.lib.lint
import data.gate.lib.params

_disallowed contains lower(tag) if {
	some tag in lint.array_at(params.of("tags"), ["disallowed"])
	is_string(tag)
}

# METADATA
# description: No tag and no digest.
violation contains lint.finding(msg, stage.line) if {
	some stage in input.stages
	stage.base.kind == "image"
	stage.base.image.tag == ""
	stage.base.image.digest == ""
	msg := sprintf(
		"FROM %s (line %d) has no tag, so it pulls whatever 'latest' is at build time; expected a specific version tag",
		[stage.base.text, stage.line],
	)
}

# METADATA
# description: A disallowed tag such as latest.
violation contains lint.finding(msg, stage.line) if {
	some stage in input.stages
	stage.base.kind == "image"
	lower(stage.base.image.tag) in _disallowed
	msg := sprintf(
		"FROM %s (line %d) uses the disallowed tag '%s'; expected a specific version tag",
		[stage.base.text, stage.line, stage.base.image.tag],
	)
}

# METADATA
# description: Not a valid image reference.
violation contains lint.finding(msg, stage.line) if {
	some stage in input.stages
	stage.base.kind == "invalid"
	msg := sprintf("FROM %s (line %d) is not a valid image reference", [stage.base.text, stage.line])
}

# METADATA
# description: The base depends on a build argument whose value the Dockerfile does not give.
warning contains lint.finding(msg, stage.line) if {
	some stage in input.stages
	stage.base.kind == "unresolved"
	msg := sprintf(
		"FROM %s (line %d) depends on a build argument without a default, so it cannot be checked; expected an ARG default",
		[stage.base.raw, stage.line],
	)
}
