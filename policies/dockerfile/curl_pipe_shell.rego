# METADATA
# title: no downloaded scripts piped into a shell
# description: |
#   curl ... | sh (or wget -O- ... | bash, sh -c "$(curl ...)", bash <(curl ...)) runs
#   whatever the server returns at build time, unverified, as root. Every stage counts:
#   a build stage's output ends up in the image.
# custom:
#   id: GATE-DF-014
#   severity: high
#   remediation: >-
#     Download to a file, verify its checksum or signature (sha256sum -c), then run it;
#     or install the tool from a package repository or a pinned, verified release.
#   scope: dockerfile
package gate.dockerfile.curl_pipe_shell

import data.gate.dockerfile.lib.lint

_shells := `(sudo\s+(-\S+\s+)*)?(env\s+\S+=\S*\s+)*(ba|z|da|k|a)?sh|python[0-9.]*|perl|ruby|node`

_patterns := [
	concat("", [`(curl|wget)\s[^;&]*\|\s*(`, _shells, `)(\s|$|;|&|\))`]),
	`(ba|z|da|k)?sh\s+(-\S+\s+)*-c\s+["']?\$\(\s*(curl|wget)\s`,
	`(ba|z|da|k)?sh\s+<\(\s*(curl|wget)\s`,
]

# METADATA
# description: A RUN that executes a downloaded script without verifying it.
violation contains lint.finding(msg, run.line) if {
	some stage in input.stages
	some run in stage.instructions
	run.cmd == "RUN"
	lint.matches_any(_patterns, run.command)
	msg := sprintf(
		"RUN at line %d pipes a downloaded script into an interpreter unverified; expected a checked download",
		[run.line],
	)
}
