package gate.policies.non_root_test

import data.gate.policies.non_root

_reference := {
	"original": "us-docker.pkg.dev/p/r/app@sha256:89102e348749bb17a6a651a4b2a17420e1a66d2a44a675b981973d49a5af3a5e",
	"registry": "us-docker.pkg.dev",
	"repository": "p/r/app",
	"name": "us-docker.pkg.dev/p/r/app",
	"tag": null,
	"digest": "sha256:89102e348749bb17a6a651a4b2a17420e1a66d2a44a675b981973d49a5af3a5e",
	"normalized": "us-docker.pkg.dev/p/r/app@sha256:89102e348749bb17a6a651a4b2a17420e1a66d2a44a675b981973d49a5af3a5e",
}

_platform(arch, user) := {
	"os": "linux",
	"architecture": arch,
	"variant": "",
	"manifest_digest": null,
	"media_type": "application/vnd.oci.image.manifest.v1+json",
	"config": {
		"user": user,
		"env": {},
		"labels": {},
		"created": "2025-01-01T00:00:00Z",
		"history": [],
		"exposed_ports": [],
		"entrypoint": [],
		"cmd": [],
		"working_dir": "",
	},
}

_workload(security_context) := {
	"namespace": "default",
	"kind": "Deployment",
	"name": "web",
	"operation": "CREATE",
	"annotations": {},
	"container": {"name": "nginx", "kind": "regular", "image": "nginx", "security_context": security_context},
}

_input(users, workload) := {
	"schema_version": "gate.input/v1",
	"entry_point": "admission",
	"evaluated_at": "2025-02-01T00:00:00Z",
	"image": {
		"reference": _reference,
		"platforms": [_platform("amd64", user) | some user in users],
		"vulnerabilities": null,
		"attestations": [],
	},
	"workload": workload,
}

test_root_users_are_violations if {
	every user in ["", "root", "0", "0:0", "root:wheel", "0:1000", "000"] {
		count(non_root.violation) == 1 with input as _input([user], null)
		count(non_root.warning) == 0 with input as _input([user], null)
	}
}

test_root_message if {
	non_root.violation == {{
		"msg": concat("", [
			"image us-docker.pkg.dev/p/r/app@sha256:89102e348749bb17a6a651a4b2a17420e1a66d2a44a675b981973d49a5af3a5e ",
			"(linux/amd64) in container 'nginx' runs as root (config User is ''); expected a numeric non-root USER ",
			"in the image (e.g. 65532) or a securityContext with runAsNonRoot: true or runAsUser > 0",
		]),
		"image": "us-docker.pkg.dev/p/r/app@sha256:89102e348749bb17a6a651a4b2a17420e1a66d2a44a675b981973d49a5af3a5e",
		"platform": "linux/amd64",
		"container": "nginx",
	}} with input as _input([""], _workload({}))
}

test_numeric_non_root_users_pass if {
	every user in ["1000", "65532", "65532:0", "1000:1000", "1000:staff"] {
		count(non_root.violation) == 0 with input as _input([user], null)
		count(non_root.warning) == 0 with input as _input([user], null)
	}
}

test_named_user_is_a_warning if {
	every user in ["nova", "tomcat", "nova:0", "ROOT"] {
		count(non_root.violation) == 0 with input as _input([user], null)
		count(non_root.warning) == 1 with input as _input([user], null)
	}
	some w in non_root.warning with input as _input(["nova"], null)
	contains(w.msg, "runs as the named user 'nova', which cannot be proven non-root without /etc/passwd")
	w.platform == "linux/amd64"
}

test_named_user_is_a_violation_in_strict_mode if {
	count(non_root.violation) == 1 with input as _input(["tomcat"], null)
		with data.gate.params.non_root.strict as true

	count(non_root.warning) == 0 with input as _input(["tomcat"], null)
		with data.gate.params.non_root.strict as true
}

test_strict_mode_accepts_a_proven_security_context if {
	count(non_root.violation) == 0 with input as _input(["tomcat"], _workload({"runAsNonRoot": true}))
		with data.gate.params.non_root.strict as true
}

test_run_as_non_root_proves_non_root if {
	count(non_root.violation) == 0 with input as _input([""], _workload({"runAsNonRoot": true}))
	count(non_root.warning) == 0 with input as _input(["nova"], _workload({"runAsNonRoot": true}))
}

test_run_as_non_root_false_proves_nothing if {
	count(non_root.violation) == 1 with input as _input([""], _workload({"runAsNonRoot": false}))
}

test_run_as_user_overrides_the_image if {
	count(non_root.violation) == 0 with input as _input(["root"], _workload({"runAsUser": 1000}))
	count(non_root.warning) == 0 with input as _input(["nova"], _workload({"runAsUser": 1000}))
}

test_run_as_user_zero_is_a_violation_regardless_of_the_image if {
	# the image's own root user is not reported twice
	count(non_root.violation) == 1 with input as _input([""], _workload({"runAsUser": 0}))

	# runAsNonRoot does not rescue an explicit uid 0 (the kubelet would refuse to start it)
	count(non_root.violation) == 1 with input as _input(["65532"], _workload({"runAsNonRoot": true, "runAsUser": 0}))

	violations := non_root.violation with input as _input(["65532"], _workload({"runAsUser": 0}))
	count(violations) == 1
	some v in violations
	contains(v.msg, "has securityContext runAsUser: 0, so it runs as root whatever the image says")
	v.platform == ""
	v.container == "nginx"
}

test_strings_prove_nothing if {
	count(non_root.violation) == 1 with input as _input([""], _workload({"runAsUser": "1000"}))
	count(non_root.violation) == 1 with input as _input([""], _workload({"runAsNonRoot": "true"}))
	count(non_root.violation) == 0 with input as _input(["1000"], _workload({"runAsUser": "0"}))
}

test_negative_run_as_user_proves_nothing if {
	count(non_root.violation) == 1 with input as _input([""], _workload({"runAsUser": -1}))
}

test_every_platform_is_checked if {
	violations := non_root.violation with input as object.union(
		_input([], null),
		{"image": {"platforms": [_platform("amd64", "0"), _platform("arm64", "1000")]}},
	)

	{v.platform | some v in violations} == {"linux/amd64"}
}

test_unknown_configuration_fails_closed if {
	count(non_root.violation) == 1 with input as _input([], null)
	count(non_root.violation) == 1 with input as {"image": {"reference": _reference}, "workload": null}
	some v in non_root.violation with input as _input([], null)
	contains(v.msg, "image configuration unknown: cannot verify the user")
}

test_unknown_configuration_with_a_proof_passes if {
	count(non_root.violation) == 0 with input as _input([], _workload({"runAsNonRoot": true}))
	count(non_root.violation) == 0 with input as _input([], _workload({"runAsUser": 10001}))
}

test_missing_user_is_root if {
	count(non_root.violation) == 1 with input as object.union(
		_input([], null),
		{"image": {"platforms": [{"os": "linux", "architecture": "amd64", "variant": "", "config": {}}]}},
	)
}

test_without_parameters_a_named_user_warns if {
	count(non_root.warning) == 1 with input as _input(["nova"], null) with data.gate.params as {}
}

# The image user as runc and containerd read it (gate.lib.users), one row per User:
# [violations, warnings] without a securityContext, in strict mode, with
# runAsNonRoot: true, and with runAsUser: 1000.
_runtime_cases := {
	# uid 0 in every spelling: root; runAsNonRoot holds (the kubelet refuses it)
	"": [[1, 0], [1, 0], [0, 0], [0, 0]],
	"root": [[1, 0], [1, 0], [0, 0], [0, 0]],
	"0": [[1, 0], [1, 0], [0, 0], [0, 0]],
	"+0": [[1, 0], [1, 0], [0, 0], [0, 0]],
	"-0": [[1, 0], [1, 0], [0, 0], [0, 0]],
	"00": [[1, 0], [1, 0], [0, 0], [0, 0]],
	"+00": [[1, 0], [1, 0], [0, 0], [0, 0]],
	"-000": [[1, 0], [1, 0], [0, 0], [0, 0]],
	":1000": [[1, 0], [1, 0], [0, 0], [0, 0]],
	"+0:1000": [[1, 0], [1, 0], [0, 0], [0, 0]],
	"-0:-0": [[1, 0], [1, 0], [0, 0], [0, 0]],
	"0:0:0": [[1, 0], [1, 0], [0, 0], [0, 0]],
	"root:wheel": [[1, 0], [1, 0], [0, 0], [0, 0]],
	# 0 modulo 2^32: root where the runtime wraps; runAsNonRoot does not hold
	"4294967296": [[1, 0], [1, 0], [1, 0], [0, 0]],
	"+4294967296": [[1, 0], [1, 0], [1, 0], [0, 0]],
	"-4294967296": [[1, 0], [1, 0], [1, 0], [0, 0]],
	"8589934592:1000": [[1, 0], [1, 0], [1, 0], [0, 0]],
	"-9223372036854775808": [[1, 0], [1, 0], [1, 0], [0, 0]],
	# refused or misread by the runtime: never a named user
	"-1": [[1, 0], [1, 0], [1, 0], [0, 0]],
	"2147483648": [[1, 0], [1, 0], [1, 0], [0, 0]],
	"4294967297": [[1, 0], [1, 0], [1, 0], [0, 0]],
	"9223372036854775808": [[1, 0], [1, 0], [1, 0], [0, 0]],
	"99999999999999999999": [[1, 0], [1, 0], [1, 0], [0, 0]],
	"1000:-1": [[1, 0], [1, 0], [1, 0], [0, 0]],
	"1000:4294967296": [[1, 0], [1, 0], [1, 0], [0, 0]],
	"nova:2147483648": [[1, 0], [1, 0], [1, 0], [0, 0]],
	"1000:1000:1000": [[1, 0], [1, 0], [1, 0], [0, 0]],
	# a uid in 1..2147483647: non-root
	"1": [[0, 0], [0, 0], [0, 0], [0, 0]],
	"+1000": [[0, 0], [0, 0], [0, 0], [0, 0]],
	"01000": [[0, 0], [0, 0], [0, 0], [0, 0]],
	"2147483647": [[0, 0], [0, 0], [0, 0], [0, 0]],
	"65532:0": [[0, 0], [0, 0], [0, 0], [0, 0]],
	"1000:-0": [[0, 0], [0, 0], [0, 0], [0, 0]],
	"1000:staff": [[0, 0], [0, 0], [0, 0], [0, 0]],
	"1000:": [[0, 0], [0, 0], [0, 0], [0, 0]],
	# names (strconv.Atoi refuses them): a warning, a violation in strict mode
	"nova": [[0, 1], [1, 0], [0, 0], [0, 0]],
	"ROOT": [[0, 1], [1, 0], [0, 0], [0, 0]],
	" 0": [[0, 1], [1, 0], [0, 0], [0, 0]],
	"0 ": [[0, 1], [1, 0], [0, 0], [0, 0]],
	"0x0": [[0, 1], [1, 0], [0, 0], [0, 0]],
	"1_000": [[0, 1], [1, 0], [0, 0], [0, 0]],
	"1e3": [[0, 1], [1, 0], [0, 0], [0, 0]],
	"+": [[0, 1], [1, 0], [0, 0], [0, 0]],
	"nova:0": [[0, 1], [1, 0], [0, 0], [0, 0]],
}

test_runtime_users_without_a_security_context if {
	every user, expected in _runtime_cases {
		doc := _input([user], _workload({}))
		violations := non_root.violation with input as doc with data.gate.params.non_root.strict as false
		warnings := non_root.warning with input as doc with data.gate.params.non_root.strict as false
		[count(violations), count(warnings)] == expected[0]
	}
}

test_runtime_users_in_strict_mode if {
	every user, expected in _runtime_cases {
		doc := _input([user], _workload({}))
		violations := non_root.violation with input as doc with data.gate.params.non_root.strict as true
		warnings := non_root.warning with input as doc with data.gate.params.non_root.strict as true
		[count(violations), count(warnings)] == expected[1]
	}
}

test_runtime_users_with_run_as_non_root if {
	every user, expected in _runtime_cases {
		doc := _input([user], _workload({"runAsNonRoot": true}))
		violations := non_root.violation with input as doc with data.gate.params.non_root.strict as true
		warnings := non_root.warning with input as doc with data.gate.params.non_root.strict as true
		[count(violations), count(warnings)] == expected[2]
	}
}

test_runtime_users_with_run_as_user if {
	every user, expected in _runtime_cases {
		doc := _input([user], _workload({"runAsUser": 1000}))
		violations := non_root.violation with input as doc with data.gate.params.non_root.strict as true
		warnings := non_root.warning with input as doc with data.gate.params.non_root.strict as true
		[count(violations), count(warnings)] == expected[3]
	}
}

test_wrapping_uid_message if {
	doc := _input(["4294967296"], _workload({"runAsNonRoot": true}))
	some v in non_root.violation with input as doc
	contains(v.msg, "runs as root on runtimes without a uid range check (config User is '4294967296': the uid is 0")
	contains(v.msg, "expected a numeric USER in 1..2147483647 in the image (e.g. 65532) or a securityContext")
}

test_invalid_user_message if {
	doc := _input(["1000:-1"], null)
	some v in non_root.violation with input as doc
	contains(v.msg, "has an invalid config User '1000:-1' (gid -1 is outside 0..2147483647): current runtimes")
	v.platform == "linux/amd64"
}
