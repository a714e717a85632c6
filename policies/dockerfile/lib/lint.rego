# METADATA
# title: Dockerfile lint helpers
# description: |
#   Shared by the Dockerfile policies: the finding shape, their parameters (read through
#   gate.lib.params; the defaults are in data.json alone) and the questions most rules ask
#   about a Dockerfile (which COPY takes the whole build context, which base images are
#   exempt). Not a policy: it has no catalog entry.
package gate.dockerfile.lib.lint

import data.gate.lib.params

default _file := ""

_file := input.file if is_string(input.file)

# METADATA
# description: The Dockerfile policies' parameters, data.gate.params.dockerfile ({} when there are none).
dockerfile := params.of("dockerfile")

# METADATA
# description: |
#   The list at path in parameters (from params.of), or [] when it is missing or not a list.
#   The defaults are in data.json alone: a policy set served without them checks less or more,
#   as each policy's description says, and never fails on a missing value.
array_at(parameters, path) := value if {
	value := object.get(parameters, path, null)
	is_array(value)
} else := []

# METADATA
# description: A finding with every key both engines return; image, platform and container are "" in a Dockerfile.
finding(msg, line) := {"msg": msg, "file": _file, "line": line, "image": "", "platform": "", "container": ""}

# METADATA
# description: The last stage, the one `docker build` produces unless --target says otherwise.
final_stage := input.stages[count(input.stages) - 1]

# METADATA
# description: Base images trusted whatever their registry (globs over registry/repository); none when unset.
base_exceptions := array_at(dockerfile, ["base_images", "exceptions"])

# METADATA
# description: True when a COPY or ADD reads from the build context (no --from).
from_context(instruction) if {
	instruction.cmd in {"COPY", "ADD"}
	object.get(instruction.flags, "from", "") == ""
}

# METADATA
# description: True for a source that names the whole build context (".", "./", "*", "./*").
whole_context(source) if {
	source != ""
	regex.match(`^(\./?|/)?\*?$`, source)
}

# METADATA
# description: The first COPY or ADD that takes the whole build context, as {line, text}.
context_copies contains {"line": instruction.line, "text": concat(" ", [instruction.cmd, source])} if {
	some stage in input.stages
	some instruction in stage.instructions
	from_context(instruction)
	some source in instruction.sources
	whole_context(source)
}

# METADATA
# description: True when text matches at least one of the regular expressions.
matches_any(expressions, text) if {
	some expression in expressions
	regex.match(expression, text)
}

# METADATA
# description: True when name (registry/repository) matches at least one glob ("*" one segment, "**" any).
glob_any(globs, name) if {
	some pattern in globs
	glob.match(pattern, ["/"], name)
}

# METADATA
# description: The last segment of a path, trailing slashes ignored.
basename(path) := parts[count(parts) - 1] if {
	parts := split(trim_right(path, "/"), "/")
}
