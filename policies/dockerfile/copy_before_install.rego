# METADATA
# title: dependencies installed before the source is copied
# description: |
#   A COPY of the whole build context before the dependency install (npm ci, pip
#   install -r, go mod download, ...) in the same stage means every source change
#   invalidates the cached dependency layer. The install commands are regular
#   expressions in data.gate.params.dockerfile.dependency_install (defaults in data.json);
#   without that list there is nothing to look for and nothing is reported.
# custom:
#   id: GATE-DF-002
#   severity: low
#   remediation: >-
#     Copy only the dependency manifests first (package*.json, requirements.txt,
#     go.mod and go.sum), install, then COPY the rest of the source.
#   scope: dockerfile
package gate.dockerfile.copy_before_install

import data.gate.dockerfile.lib.lint

_installs := lint.array_at(lint.dockerfile, ["dependency_install"])

# [copy line, copy text, install line, install command] in one stage.
_late_installs contains [instruction.line, source, run.line, run.command] if {
	some stage in input.stages
	some instruction in stage.instructions
	lint.from_context(instruction)
	some source in instruction.sources
	lint.whole_context(source)
	some run in stage.instructions
	run.cmd == "RUN"
	run.line > instruction.line
	lint.matches_any(_installs, run.command)
}

# METADATA
# description: The whole context is copied before a dependency install in the same stage.
violation contains lint.finding(msg, line) if {
	some line in {item[0] | some item in _late_installs}
	first := min({item[2] | some item in _late_installs; item[0] == line})
	some item in _late_installs
	item[0] == line
	item[2] == first
	msg := sprintf(
		concat("", [
			"'%s' (line %d) copies the whole build context before the dependency install at line %d (%s), ",
			"so every source change reinstalls the dependencies; expected the manifests copied and installed first",
		]),
		[item[1], line, first, trim_space(item[3])],
	)
}
