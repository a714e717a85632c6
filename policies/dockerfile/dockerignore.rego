# METADATA
# title: .dockerignore keeps secrets and clutter out of the build context
# description: |
#   The build context is everything beside the Dockerfile; COPY . copies all of it into
#   a layer. A .dockerignore must exclude at least the sample paths in
#   data.gate.params.dockerfile.dockerignore.must_exclude (default, in data.json, .git,
#   .env files, node_modules, SSH and TLS keys; without it only a missing .dockerignore is
#   reported). A missing or incomplete file is a violation when a
#   COPY or ADD takes the whole context, and a warning otherwise (the context still
#   reaches the builder, and Cloud Build uploads it to a bucket).
# custom:
#   id: GATE-DF-001
#   severity: medium
#   remediation: >-
#     Add a .dockerignore beside the Dockerfile that excludes .git, .env*, node_modules
#     and key files (*.key, *.pem, id_rsa).
#   scope: dockerfile
package gate.dockerfile.dockerignore

import data.gate.dockerfile.lib.lint

_must_exclude := lint.array_at(lint.dockerfile, ["dockerignore", "must_exclude"])

_patterns := input.dockerignore.patterns if is_object(input.dockerignore)

# A pattern matches a path, or one of its parent folders (".git" excludes ".git/config").
_matches(expression, path) if regex.match(expression, path)

_matches(expression, path) if {
	parts := split(path, "/")
	some i in numbers.range(1, count(parts) - 1)
	regex.match(expression, concat("/", array.slice(parts, 0, i)))
}

# The last matching pattern decides; a "!" pattern re-includes.
_excluded(path) if {
	matching := [p | some p in _patterns; _matches(p.regex, path)]
	count(matching) > 0
	matching[count(matching) - 1].exclude
}

_missing := [path | some path in _must_exclude; not _excluded(path)]

_problem := sprintf("there is no .dockerignore beside %s", [input.file]) if {
	not is_object(input.dockerignore)
} else := sprintf("%s does not exclude %s", [input.dockerignore.file, concat(", ", _missing)]) if {
	count(_missing) > 0
}

_first_copy := min({copy.line | some copy in lint.context_copies})

_first_copy_text := [copy.text | some copy in lint.context_copies; copy.line == _first_copy][0]

# METADATA
# description: The whole context is copied and the .dockerignore is missing or incomplete.
violation contains lint.finding(msg, _first_copy) if {
	msg := sprintf(
		concat("", [
			"%s, and '%s' (line %d) copies the whole build context into the image; ",
			"expected a .dockerignore that excludes %s",
		]),
		[_problem, _first_copy_text, _first_copy, concat(", ", _must_exclude)],
	)
}

# METADATA
# description: No COPY of the whole context, but the .dockerignore is missing or incomplete.
warning contains lint.finding(msg, 1) if {
	count(lint.context_copies) == 0
	msg := sprintf(
		"%s; the whole build context still goes to the builder; expected a .dockerignore that excludes %s",
		[_problem, concat(", ", _must_exclude)],
	)
}
