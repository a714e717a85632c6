# METADATA
# title: no secret files copied into the image
# description: |
#   A COPY or ADD of a .env file, a private key or a credentials file from the build
#   context puts it into a layer; a later RUN rm hides it from the final filesystem but
#   not from the image history. Base names are matched case-insensitively against
#   data.gate.params.dockerfile.secret_files.names, minus .allowed (.env.example and
#   other templates); the defaults are in data.json. Without .names nothing is reported,
#   without .allowed no template is excused.
# custom:
#   id: GATE-DF-011
#   severity: critical
#   remediation: >-
#     Keep secrets out of the build context (.dockerignore) and pass them with
#     RUN --mount=type=secret at build time or as runtime secrets.
#   scope: dockerfile
package gate.dockerfile.secret_files

import data.gate.dockerfile.lib.lint

_names := lint.array_at(lint.dockerfile, ["secret_files", "names"])

_allowed_names := lint.array_at(lint.dockerfile, ["secret_files", "allowed"])

_secret_file(name) if {
	not _allowed(name)
	some expression in _names
	regex.match(concat("", ["(?i)", expression]), name)
}

_allowed(name) if {
	some expression in _allowed_names
	regex.match(concat("", ["(?i)", expression]), name)
}

# METADATA
# description: A COPY or ADD of a secret-looking file from the build context.
violation contains lint.finding(msg, instruction.line) if {
	some stage in input.stages
	some instruction in stage.instructions
	lint.from_context(instruction)
	some source in instruction.sources
	not startswith(source, "<<")
	_secret_file(lint.basename(source))
	msg := sprintf(
		"%s of '%s' (line %d) puts a secret-looking file into a layer, kept even if a later RUN deletes it",
		[instruction.cmd, source, instruction.line],
	)
}
