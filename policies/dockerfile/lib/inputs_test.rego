# METADATA
# title: lint input builders for the Dockerfile policy tests
# description: |
#   Small constructors for the lint input document (docs/lint-input.md), so each test
#   states only what matters to it. gate's parser builds the same shapes from real
#   Dockerfiles; tests/unit/test_lint_policies.py checks the two agree.
package gate.dockerfile.lib.inputs_test

# METADATA
# description: A base image; registry "docker.io" gets the library/ prefix for one-segment names.
image(text, registry, repository, tag, digest) := {
	"raw": text, "text": text, "resolved": true, "kind": "image", "stage": -1,
	"image": {
		"original": text, "registry": registry, "repository": repository,
		"name": concat("/", [registry, repository]), "tag": tag, "digest": digest, "normalized": text,
	},
}

# METADATA
# description: A FROM of an earlier stage.
from_stage(name, index) := {"raw": name, "text": name, "resolved": true, "kind": "stage", "stage": index, "image": null}

# METADATA
# description: A FROM whose image depends on an unknown build argument.
unresolved(raw) := {"raw": raw, "text": raw, "resolved": false, "kind": "unresolved", "stage": -1, "image": null}

# METADATA
# description: An instruction with nothing but its command, line and arguments.
instruction(cmd, line, value) := {
	"cmd": cmd, "sub_cmd": "", "line": line, "end_line": line, "original": concat(" ", array.concat([cmd], value)),
	"value": value, "expanded": value, "resolved": true, "json": false, "flags": {}, "mounts": [],
	"heredocs": [], "command": "", "vars": [], "sources": [], "destination": "",
}

# METADATA
# description: RUN with a shell command.
run(line, command) := object.union(instruction("RUN", line, [command]), {"command": command})

# METADATA
# description: COPY or ADD with sources, a destination and flags, e.g. from build.
copy(cmd, line, sources, destination, flags) := object.union(
	instruction(cmd, line, array.concat(sources, [destination])),
	{"sources": sources, "destination": destination, "flags": flags},
)

# METADATA
# description: ENV or ARG declaring one name; value null for an ARG without a default.
declare(cmd, line, name, value) := object.union(instruction(cmd, line, [name]), {"vars": [_var(line, name, value)]})

_var(line, name, null) := object.union(
	_named(line, name),
	{"raw": "", "value": "", "has_value": false, "resolved": false},
)

_var(line, name, value) := object.union(
	_named(line, name),
	{"raw": value, "value": value, "has_value": true, "resolved": true},
) if {
	value != null
}

_named(line, name) := {"name": name, "line": line}

# METADATA
# description: The USER in effect, as the parser records it.
user(line, value, stage) := {"value": value, "line": line, "resolved": true, "stage": stage}

# METADATA
# description: A stage; origin is the base unless set later, user null unless given.
stage(index, line, base, instructions) := {
	"index": index, "name": "", "line": line, "end_line": line, "platform": "",
	"is_final": false, "in_final_image": false, "base": base, "origin": base, "user": null,
	"instructions": instructions,
}

# METADATA
# description: A one-stage document (the stage is final) with a complete .dockerignore.
single(base, instructions) := document([object.union(
	stage(0, 1, base, instructions),
	{"is_final": true, "in_final_image": true},
)])

# METADATA
# description: A document with the given stages and a .dockerignore that excludes the usual paths.
document(stages) := {
	"schema": "gate.lint/v1", "file": "Dockerfile", "escape": "\\", "directives": {}, "args": [],
	"stages": stages, "dockerignore": good_ignore,
}

# METADATA
# description: A .dockerignore that excludes .git, .env*, node_modules and key files.
good_ignore := {"file": ".dockerignore", "patterns": [
	{"pattern": ".git", "exclude": true, "regex": `^\.git$`, "line": 1},
	{"pattern": ".env*", "exclude": true, "regex": `^\.env[^/]*$`, "line": 2},
	{"pattern": "**/node_modules", "exclude": true, "regex": `^(.*/)?node_modules$`, "line": 3},
	{"pattern": "id_rsa*", "exclude": true, "regex": `^id_rsa[^/]*$`, "line": 4},
	{"pattern": "**/*.key", "exclude": true, "regex": `^(.*/)?[^/]*\.key$`, "line": 5},
	{"pattern": "**/*.pem", "exclude": true, "regex": `^(.*/)?[^/]*\.pem$`, "line": 6},
]}

# METADATA
# description: The slim Python image pinned by digest, the usual passing base.
slim := image(
	"python:3.12-slim@sha256:aaaa", "docker.io", "library/python", "3.12-slim",
	"sha256:aaaa",
)

# METADATA
# description: The lines of a set of findings.
lines(findings) := {f.line | some f in findings}
