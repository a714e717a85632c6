package gate.policies.secrets_test

import data.gate.policies.secrets

_reference := {
	"original": "python:alpine",
	"registry": "docker.io",
	"repository": "library/python",
	"name": "docker.io/library/python",
	"tag": "alpine",
	"digest": null,
	"normalized": "docker.io/library/python:alpine",
}

_platform(env, history) := {
	"os": "linux",
	"architecture": "amd64",
	"variant": "",
	"manifest_digest": null,
	"media_type": "application/vnd.oci.image.manifest.v1+json",
	"config": {
		"user": "",
		"env": env,
		"labels": {},
		"created": "2025-01-01T00:00:00Z",
		"history": history,
		"exposed_ports": [],
		"entrypoint": [],
		"cmd": [],
		"working_dir": "",
	},
}

_input(env) := _input_with_history(env, [])

_input_with_history(env, history) := {
	"schema_version": "gate.input/v1",
	"entry_point": "attest",
	"evaluated_at": "2025-02-01T00:00:00Z",
	"image": {
		"reference": _reference,
		"platforms": [_platform(env, history)],
		"vulnerabilities": null,
		"attestations": [],
	},
	"workload": null,
}

# The kubernetes-goat users-repo image: ENV API_KEY="k8s-goat-…".
_goat := {"API_KEY": "k8s-goat-cf658c56a501385205cc6d2dafee8fc1", "PATH": "/usr/local/bin:/usr/bin:/bin"}

test_secret_like_name_is_a_violation if {
	secrets.violation == {{
		"msg": concat("", [
			"image docker.io/library/python:alpine (linux/amd64) sets environment variable API_KEY, ",
			"whose name looks like a secret ",
			"(rule: name_patterns); expected credentials to be injected at runtime (Secret Manager, a Kubernetes Secret), ",
			"not stored in the image",
		]),
		"image": "docker.io/library/python:alpine",
		"platform": "linux/amd64",
		"container": "",
	}} with input as _input(_goat)
}

test_the_value_is_never_in_the_message if {
	violations := secrets.violation with input as _input(_goat)
	count(violations) == 1
	every v in violations {
		not contains(v.msg, "k8s-goat-cf658c56a501385205cc6d2dafee8fc1")
	}
}

test_secret_like_names if {
	names := [
		"DB_PASSWORD", "passwd", "CLIENT_SECRET", "GITHUB_TOKEN", "api-key",
		"PRIVATE_KEY", "AWS_ACCESS_KEY", "CREDENTIALS", "Credential",
	]
	every name in names {
		count(secrets.violation) == 1 with input as _input({name: "x"})
	}
}

test_ordinary_names_pass if {
	count(secrets.violation) == 0 with input as _input({
		"PATH": "/usr/bin",
		"HTTPD_SHA1": "5101be34ac4a509b245adb70a56690a84fcc4e7f",
		"GPG_KEY": "A035C8C19219BA821ECEA86B64E628F8D684696D",
		"LANG": "C.UTF-8",
	})
}

test_empty_values_pass if {
	count(secrets.violation) == 0 with input as _input({"DB_PASSWORD": ""})
}

test_allowed_names_pass if {
	count(secrets.violation) == 0 with input as _input({"ALLOW_EMPTY_PASSWORD": "no", "TOKENIZERS_PARALLELISM": "false"})
	count(secrets.violation) == 0 with input as _input({"MYSQL_ROOT_PASSWORD_FILE": "/run/secrets/mysql-root"})
	count(secrets.violation) == 0 with input as _input(_goat)
		with data.gate.params.secrets.allowed_names as ["API_KEY"]
}

test_custom_name_patterns if {
	count(secrets.violation) == 1 with input as _input({"LICENSE_BLOB": "abc"})
		with data.gate.params.secrets.name_patterns as ["(?i)license"]

	count(secrets.violation) == 0 with input as _input(_goat)
		with data.gate.params.secrets.name_patterns as []
}

_credentials := {
	"pem-private-key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
	"aws-access-key-id": "AKIAIOSFODNN7EXAMPLE",
	"google-api-key": "AIzaSyA-0123456789abcdefghijklmnopqrstu",
	"gcp-service-account-key": "{\"type\": \"service_account\", \"project_id\": \"p\"}",
	"github-token": "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
}

test_credential_values_are_violations_whatever_the_name if {
	every rule, value in _credentials {
		violations := secrets.violation with input as _input({"SETTING": value})
		count(violations) == 1
		some v in violations
		contains(v.msg, "sets environment variable SETTING to a value that looks like a credential")
		contains(v.msg, sprintf("(rule: value_patterns.%s)", [rule]))
		not contains(v.msg, value)
	}
}

test_both_rules_can_match if {
	count(secrets.violation) == 2 with input as _input({"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"})
}

test_allowed_names_do_not_hide_credential_values if {
	count(secrets.violation) == 1 with input as _input({"ALLOW_EMPTY_PASSWORD": "AKIAIOSFODNN7EXAMPLE"})
}

test_near_misses_pass if {
	count(secrets.violation) == 0 with input as _input({
		"A": "AKIA0123",
		"B": "AIza-too-short",
		"C": "-----BEGIN PUBLIC KEY-----",
		"D": "ghp_short",
		"E": "{\"type\": \"authorized_user\"}",
	})
}

test_credentials_in_build_history_are_violations if {
	history := [
		{"created_by": "/bin/sh -c #(nop) ADD file:abc in /", "created": null, "empty_layer": false},
		{
			"created_by": "|1 TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyz /bin/sh -c make",
			"created": null,
			"empty_layer": false,
		},
	]
	violations := secrets.violation with input as _input_with_history({}, history)
	count(violations) == 1
	some v in violations
	contains(v.msg, "has build history entry 1 whose command contains what looks like a credential")
	contains(v.msg, "(rule: value_patterns.github-token)")
	not contains(v.msg, "ghp_")
}

# The value patterns are tried as one alternation first; each keeps its own anchors and
# flags in it, and every pattern that matches is still reported.
test_value_patterns_keep_their_anchors_and_flags if {
	patterns := {"anchored": "^abc$", "flagged": "(?i)bearer", "any": "c"}
	violations := secrets.violation with input as _input({"A": "abc", "B": "xabc", "C": "BEARER x"})
		with data.gate.params.secrets.value_patterns as patterns
	rules := {[name, rule] |
		some v in violations
		some name in ["A", "B", "C"]
		contains(v.msg, sprintf("variable %s to", [name]))
		some rule, _ in patterns
		contains(v.msg, sprintf("value_patterns.%s)", [rule]))
	}
	rules == {["A", "anchored"], ["A", "any"], ["B", "any"], ["C", "flagged"]}
}

# All values of all platforms are first matched as one text, one value per line, in
# multi-line mode: a pattern anchored with ^ and $ still finds its line among the others.
test_line_anchored_patterns_match_among_other_values if {
	patterns := {"anchored": "^abc$"}
	history := [
		{"created_by": "RUN make", "created": null, "empty_layer": false},
		{"created_by": "abc", "created": null, "empty_layer": false},
	]
	violations := secrets.violation with input as _input_with_history({"A": "x", "B": "abc", "C": "y"}, history)
		with data.gate.params.secrets.value_patterns as patterns
	{v.msg | some v in violations; contains(v.msg, "variable B to")} != set()
	{v.msg | some v in violations; contains(v.msg, "history entry 1 ")} != set()
	count(violations) == 2
}

# A pattern anchored to the whole text (\A, \z) or with multi-line mode off would miss
# its value inside the joined text: with one, each value is tried on its own.
test_text_anchored_patterns_are_tried_on_each_value if {
	every patterns in [
		{"whole": `\Aabc\z`},
		{"single-line": `(?-m)^abc$`},
		{"flags": `(?i-m:^ABC$)`},
	] {
		not secrets._lines_prefilter with data.gate.params.secrets.value_patterns as patterns
		violations := secrets.violation with input as _input({"A": "x", "B": "abc", "C": "y"})
			with data.gate.params.secrets.value_patterns as patterns
		[v.msg | some v in violations; contains(v.msg, "variable B to")] == [v.msg | some v in violations]
		count(violations) == 1
	}
}

# "a)|(b" does not compile, but (?:a)|(b) would: such a pattern is never combined, so
# that it fails as it always did.
test_a_pattern_that_does_not_compile_alone_is_not_combined if {
	# No platforms: nothing is matched against the broken pattern.
	secrets._value_prefilter == "" with data.gate.params.secrets.value_patterns as {"broken": "a)|(b"}
		with input as {"image": {"reference": _reference, "platforms": []}}
}

# An object merges over the defaults; a list replaces them.
test_no_value_patterns_nothing_to_match if {
	count(secrets.violation) == 0 with input as _input({"SETTING": "AKIAIOSFODNN7EXAMPLE"})
		with data.gate.params.secrets.value_patterns as []
}

test_no_platforms_nothing_to_check if {
	count(secrets.violation) == 0 with input as {"image": {"reference": _reference, "platforms": []}}
}

test_without_parameters_each_missing_one_is_reported if {
	violations := secrets.violation with input as _input(_goat)
		with data.gate.params as {}

	{v.msg | some v in violations} == {
		concat("", [
			"policy parameter secrets.name_patterns is null, not a list of regular expressions, ",
			"so no environment can be checked with it; expected the parameter as in gate's data.json",
		]),
		concat("", [
			"policy parameter secrets.value_patterns is null, not an object of rule name to regular expression, ",
			"so no environment can be checked with it; expected the parameter as in gate's data.json",
		]),
	}
}

test_a_parameter_of_the_wrong_type_is_reported if {
	violations := secrets.violation with input as _input(_goat)
		with data.gate.params.secrets.name_patterns as {}

	{v.msg | some v in violations; contains(v.msg, "policy parameter")} == {concat("", [
		"policy parameter secrets.name_patterns is {}, not a list of regular expressions, ",
		"so no environment can be checked with it; expected the parameter as in gate's data.json",
	])}
}

test_value_patterns_as_a_list_are_usable if {
	violations := secrets.violation with input as _input({"SETTING": "plain"})
		with data.gate.params.secrets.value_patterns as ["AKIA[0-9A-Z]{16}"]

	violations == set()
}
