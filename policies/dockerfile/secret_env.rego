# METADATA
# title: no secrets in ENV or ARG
# description: |
#   ENV values are stored in the image config and ARG values in the image history: both
#   are readable by anyone who can pull the image, and the Dockerfile itself is in
#   version control. A secret-like name (data.gate.params.dockerfile.secrets.names,
#   minus .allowed names such as *_FILE or *_URL) with a value, or any value that looks
#   like a credential (.values: AWS, GitHub, Google, Slack keys, private keys), is a
#   violation; a secret-like ARG without a default is a warning. Messages never repeat
#   the value. The defaults are in data.json; without .names or .values that check finds
#   nothing, without .allowed no name is excused.
# custom:
#   id: GATE-DF-010
#   severity: critical
#   remediation: >-
#     Pass build-time secrets with RUN --mount=type=secret (docker build --secret) and
#     run-time secrets from Secret Manager or a Kubernetes Secret, never through ENV or ARG.
#   scope: dockerfile
package gate.dockerfile.secret_env

import data.gate.dockerfile.lib.lint

_names := lint.array_at(lint.dockerfile, ["secrets", "names"])

_allowed := lint.array_at(lint.dockerfile, ["secrets", "allowed"])

_values := lint.array_at(lint.dockerfile, ["secrets", "values"])

_declarations contains [var, "ARG"] if some var in input.args

_declarations contains [var, instruction.cmd] if {
	some stage in input.stages
	some instruction in stage.instructions
	some var in instruction.vars
}

_secret_name(name) if {
	lint.matches_any(_names, name)
	not lint.matches_any(_allowed, name)
}

# METADATA
# description: A secret-like name given a value.
violation contains lint.finding(msg, var.line) if {
	some [var, cmd] in _declarations
	_secret_name(var.name)
	var.has_value
	var.raw != ""
	msg := sprintf(
		"%s %s (line %d) puts a secret-like value into the image config or history; expected a secret mount",
		[cmd, var.name, var.line],
	)
}

# METADATA
# description: A value that looks like a credential, whatever its name.
violation contains lint.finding(msg, var.line) if {
	some [var, cmd] in _declarations
	not _secret_name(var.name)
	lint.matches_any(_values, var.value)
	msg := sprintf(
		"%s %s (line %d) has a value that looks like a credential; expected a secret mount",
		[cmd, var.name, var.line],
	)
}

# METADATA
# description: A secret-like ARG without a default, to be given with --build-arg.
warning contains lint.finding(msg, var.line) if {
	some [var, "ARG"] in _declarations
	_secret_name(var.name)
	not var.has_value
	msg := sprintf(
		"ARG %s (line %d) looks like a secret, and --build-arg values stay in the image history; expected a secret mount",
		[var.name, var.line],
	)
}
