package gate.dockerfile.secret_env_test

import data.gate.dockerfile.lib.inputs_test as build
import data.gate.dockerfile.secret_env

_env(name, value) := build.single(build.slim, [build.declare("ENV", 4, name, value)])

test_secret_like_env_with_a_value_is_a_violation if {
	count(secret_env.violation) == 1 with input as _env("AWS_SECRET_ACCESS_KEY", "x")
	count(secret_env.violation) == 1 with input as _env("db_password", "x")
	some finding in secret_env.violation with input as _env("API_KEY", "k8s-goat-cf658c56a501385205cc6d2dafee8fc1")
	finding.line == 4
	contains(finding.msg, "ENV API_KEY (line 4)")
	not contains(finding.msg, "cf658c56")
}

test_ordinary_and_allowed_names_pass if {
	count(secret_env.violation) == 0 with input as _env("GPG_KEY", "A035C8C19219BA821ECEA86B64E628F8D684696D")
	count(secret_env.violation) == 0 with input as _env("TOKEN_URL", "https://example.com/token")
	count(secret_env.violation) == 0 with input as _env("PASSWORD_FILE", "/run/secrets/db")
	count(secret_env.violation) == 0 with input as _env("PASSWORD", "")
}

test_credential_values_are_found_whatever_the_name if {
	build.lines(secret_env.violation) == {4} with input as _env("SETTINGS", "AKIAIOSFODNN7EXAMPLE")
}

test_secret_like_arg_with_a_default_is_a_violation if {
	doc := build.single(build.slim, [build.declare("ARG", 2, "NPM_TOKEN", "abc")])
	build.lines(secret_env.violation) == {2} with input as doc
}

test_secret_like_arg_without_a_default_is_a_warning if {
	doc := build.single(build.slim, [build.declare("ARG", 2, "GITHUB_TOKEN", null)])
	build.lines(secret_env.warning) == {2} with input as doc
	count(secret_env.violation) == 0 with input as doc
}

test_global_args_count if {
	doc := object.union(build.single(build.slim, []), {"args": [{
		"name": "CLIENT_SECRET", "raw": "s3cr3t", "value": "s3cr3t",
		"has_value": true, "resolved": true, "line": 1,
	}]})
	build.lines(secret_env.violation) == {1} with input as doc
}
