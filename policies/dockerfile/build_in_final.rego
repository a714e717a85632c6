# METADATA
# title: compile in a build stage, not in the final image
# description: |
#   A compiler run in the final stage (or a stage it is built FROM) ships the toolchain,
#   the sources and the build caches with the application. The build commands are
#   regular expressions in data.gate.params.dockerfile.build_commands (go build, cargo
#   build, mvn package, gradle build, npm run build, dotnet publish, ...).
# custom:
#   id: GATE-DF-015
#   severity: medium
#   remediation: >-
#     Build in a stage of its own (FROM golang:1.22 AS build) and COPY --from=build only
#     the artifact into a slim or distroless final stage.
#   scope: dockerfile
package gate.dockerfile.build_in_final

import data.gate.dockerfile.lib.lint

_p := `(^|[\s;&|(/])`

_builds := lint.param(["dockerfile", "build_commands"], [
	concat("", [_p, `go\s+(build|install)\b`]),
	concat("", [_p, `cargo\s+(build|install)\b`]),
	concat("", [_p, `mvnw?\s+[^;&|]*\b(package|install|verify)\b`]),
	concat("", [_p, `(gradle|gradlew)\s+[^;&|]*\b(build|assemble|jar|bootJar|installDist)\b`]),
	concat("", [_p, `(npm|pnpm)\s+run\s+build\b`]),
	concat("", [_p, `yarn\s+(run\s+)?build\b`]),
	concat("", [_p, `dotnet\s+(build|publish)\b`]),
])

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
