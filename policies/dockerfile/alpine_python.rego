# METADATA
# title: Python packages compiled on Alpine
# description: |
#   Alpine uses musl, and most wheels on PyPI are built for glibc (manylinux): on Alpine
#   pip compiles them from source, which is slow, needs a toolchain in the image and can
#   behave differently at run time. A stage built on Alpine (alpine, or a tag with
#   "alpine") that has Python and installs a build toolchain or a package known to be
#   compiled (data.gate.params.dockerfile.alpine_python.packages, defaults in data.json)
#   gets a warning. Without that list only a toolchain install is reported.
# custom:
#   id: GATE-DF-008
#   severity: low
#   remediation: >-
#     Use a Debian-based -slim Python image (python:3.12-slim), where manylinux wheels
#     install without compiling.
#   scope: dockerfile
package gate.dockerfile.alpine_python

import data.gate.dockerfile.lib.lint

_packages := lint.array_at(lint.dockerfile, ["alpine_python", "packages"])

_toolchain := concat("", [
	`(^|[\s;&|(])apk\s+[^;&|]*\badd\b[^;&|]*\s`,
	`(build-base|gcc|g\+\+|musl-dev|python3-dev|libffi-dev|cargo)(\s|$)`,
])

_pip_install := `(^|[\s;&|(/])pip[0-9.]*\s+install\s`

_alpine(origin) if origin.image.repository == "library/alpine"

_alpine(origin) if contains(lower(origin.image.tag), "alpine")

_python(stage) if stage.origin.image.repository == "library/python"

_python(stage) if {
	some run in stage.instructions
	regex.match(`(^|[\s;&|(])apk\s+[^;&|]*\badd\b[^;&|]*\spy(thon)?3`, run.command)
}

_compiled(run) if regex.match(_toolchain, run.command)

_compiled(run) if {
	regex.match(_pip_install, run.command)
	some name in _packages
	regex.match(sprintf(`(?i)(^|[\s"'])%s([\s"'=<>~!\[]|$)`, [name]), run.command)
}

# METADATA
# description: A RUN that compiles Python dependencies on an Alpine base.
warning contains lint.finding(msg, run.line) if {
	some stage in input.stages
	stage.origin.kind == "image"
	_alpine(stage.origin)
	some run in stage.instructions
	run.cmd == "RUN"
	_compiled(run)
	_python(stage)
	msg := sprintf(
		"RUN at line %d compiles Python packages on Alpine (%s), from source for musl; expected a -slim base",
		[run.line, stage.origin.text],
	)
}
