# METADATA
# title: compile in a build stage, not in the final image
# description: |
#   A compiler run in the final stage (or a stage it is built FROM) ships the toolchain,
#   the sources and the build caches with the application. The build commands are
#   regular expressions in data.gate.params.dockerfile.build_commands (go build, cargo
#   build, mvn package, gradle build, npm run build, dotnet publish, ...; the defaults are
#   in data.json). Without that list there is nothing to look for and nothing is reported.
# custom:
#   id: GATE-DF-015
#   severity: medium
#   remediation: >-
#     Build in a stage of its own (FROM golang:1.22 AS build) and COPY --from=build only
#     the artifact into a slim or distroless final stage.
#   scope: dockerfile
package gate.dockerfile.build_in_final

import data.gate.dockerfile.lib.lint

_builds := lint.array_at(lint.dockerfile, ["build_commands"])

# METADATA
# description: A build command in a stage that becomes the final image.
violation contains lint.finding(msg, run.line) if {
	some stage in input.stages
	stage.in_final_image
	some run in stage.instructions
	run.cmd == "RUN"
	lint.matches_any(_builds, run.command)
	msg := sprintf(
		"RUN at line %d compiles in the final image (stage at line %d); expected a separate build stage",
		[run.line, stage.line],
	)
}
