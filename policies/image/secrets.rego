# METADATA
# title: no secrets in the image
# description: |
#   Anything in an image config is readable by everyone who can pull the image. For each
#   platform, an environment variable is a violation when its name matches one of
#   data.gate.params.secrets.name_patterns (regular expressions) and it has a non-empty
#   value, unless the name is in allowed_names or matches allowed_name_patterns (by
#   default "*_FILE", the convention for a path to a mounted secret); and any variable
#   whose value, or any history entry whose created_by, matches one of value_patterns
#   (PEM private keys, AWS access key ids, Google API keys, service-account JSON keys,
#   GitHub tokens) is a violation whatever its name. Messages name the variable and the
#   rule that matched, never the value.
# custom:
#   id: GATE-IMG-003
#   severity: critical
#   remediation: >-
#     Remove the credential from the image (ENV, ARG and build history), rotate it, and inject it at runtime from
#     Secret Manager or a Kubernetes Secret.
#   scope: image
package gate.policies.secrets

import data.gate.lib.context
import data.gate.lib.params

_params := params.of("secrets")

_allowed_names := {name | some name in _params.allowed_names}

_secret_name(name) if {
	some pattern in _params.name_patterns
	regex.match(pattern, name)
}

_allowed_name(name) if name in _allowed_names

_allowed_name(name) if {
	some pattern in _params.allowed_name_patterns
	regex.match(pattern, name)
}

# All value_patterns as one alternation, tested first: a text that matches none of them
# (nearly every environment value and build command) costs one regex.match instead of one
# per pattern. "" (which matches every text) when a pattern does not compile on its own,
# or value_patterns is not an object: each pattern is then tried alone and fails as it
# always did. Undefined without value patterns ({} or []): there is nothing to test.
_value_prefilter := concat("|", [sprintf("(?:%s)", [pattern]) | some pattern in _params.value_patterns]) if {
	is_object(_params.value_patterns)
	_params.value_patterns != {}
	every pattern in _params.value_patterns {
		regex.is_valid(pattern)
	}
} else := "" if {
	_params.value_patterns != {}
	_params.value_patterns != []
}

# Whether any environment value or history command of any platform may match
# value_patterns, in one regex.match: each is a builtin call (regorus's own binding also
# builds its lazy DFA again, about 10 us and more for a long text; gate_regorus keeps it),
# and a real image has tens of values. Joined by newlines and matched in multi-line mode,
# the values match wherever one of them does, unless a pattern is anchored to the whole
# text (\A, \z) or turns multi-line mode off; then, as when a pattern is invalid, each
# value is tried on its own.
_suspect if not _lines_prefilter

_suspect if regex.match(_lines_prefilter, concat("\n", [text |
	some p in input.image.platforms
	some text in array.concat(
		[value | some value in p.config.env],
		[entry.created_by | some entry in p.config.history],
	)
]))

_lines_prefilter := concat("", ["(?m)", _value_prefilter]) if {
	_value_prefilter != ""
	not regex.match(`\\[Az]|\(\?[a-zA-Z]*-[a-zA-Z]*m`, _value_prefilter)
}

_runtime := concat(" ", [
	"expected credentials to be injected at runtime (Secret Manager, a Kubernetes Secret),",
	"not stored in the image",
])

# METADATA
# description: An environment variable whose name looks like a secret.
violation contains context.result(msg, platform) if {
	some p in input.image.platforms
	some name, value in p.config.env
	value != ""
	_secret_name(name)
	not _allowed_name(name)
	platform := context.platform(p)
	msg := sprintf(
		"%s sets environment variable %s, whose name looks like a secret (rule: name_patterns); %s",
		[context.subject(platform), name, _runtime],
	)
}

# METADATA
# description: An environment variable whose value looks like a credential.
violation contains context.result(msg, platform) if {
	_suspect
	some p in input.image.platforms
	some name, value in p.config.env
	regex.match(_value_prefilter, value)
	some rule, pattern in _params.value_patterns
	regex.match(pattern, value)
	platform := context.platform(p)
	msg := sprintf(
		"%s sets environment variable %s to a value that looks like a credential (rule: value_patterns.%s); %s",
		[context.subject(platform), name, rule, _runtime],
	)
}

# METADATA
# description: A build history entry that contains what looks like a credential (e.g. a build argument).
violation contains context.result(msg, platform) if {
	_suspect
	some p in input.image.platforms
	some i, entry in p.config.history
	regex.match(_value_prefilter, entry.created_by)
	some rule, pattern in _params.value_patterns
	regex.match(pattern, entry.created_by)
	platform := context.platform(p)
	msg := sprintf(
		"%s has build history entry %d whose command contains what looks like a credential (rule: value_patterns.%s); %s",
		[context.subject(platform), i, rule, _runtime],
	)
}

# METADATA
# description: |
#   A parameter the policy cannot check with: name_patterns not a list, or value_patterns
#   neither an object nor a list (missing from a policy set served without data.json).
violation contains context.result(msg, "") if {
	some parameter, usable in {
		"name_patterns": {"expected": "a list of regular expressions", "types": {"array"}},
		"value_patterns": {"expected": "an object of rule name to regular expression", "types": {"object", "array"}},
	}
	value := object.get(_params, parameter, null)
	not type_name(value) in usable.types
	msg := sprintf(
		"policy parameter secrets.%s is %v, not %s, so no environment can be checked with it; expected %s",
		[parameter, value, usable.expected, "the parameter as in gate's data.json"],
	)
}
