package gate.dockerfile.dockerignore_test

import data.gate.dockerfile.dockerignore
import data.gate.dockerfile.lib.inputs_test as build

_copy_all := build.copy("COPY", 3, ["."], "/app", {})

_without_ignore := object.union(build.single(build.slim, [_copy_all]), {"dockerignore": null})

_with_patterns(patterns) := object.union(
	build.single(build.slim, [_copy_all]),
	{"dockerignore": {"file": "app/.dockerignore", "patterns": patterns}},
)

test_missing_dockerignore_with_context_copy_is_a_violation_at_the_copy if {
	build.lines(dockerignore.violation) == {3} with input as _without_ignore
	count(dockerignore.warning) == 0 with input as _without_ignore
	some finding in dockerignore.violation with input as _without_ignore
	contains(finding.msg, "there is no .dockerignore beside Dockerfile")
	finding.file == "Dockerfile"
}

test_incomplete_dockerignore_names_what_it_misses if {
	some finding in dockerignore.violation with input as _with_patterns([build.good_ignore.patterns[0]])
	contains(finding.msg, "app/.dockerignore does not exclude .env, .env.production, node_modules")
	not contains(finding.msg, "exclude .git,")
}

test_a_later_negation_re_includes if {
	patterns := array.concat(
		build.good_ignore.patterns,
		[{"pattern": ".env.production", "exclude": false, "regex": `^\.env\.production$`, "line": 9}],
	)
	some finding in dockerignore.violation with input as _with_patterns(patterns)
	contains(finding.msg, "does not exclude .env.production")
}

test_a_folder_pattern_excludes_what_is_inside if {
	patterns := [{"pattern": "secrets", "exclude": true, "regex": `^secrets$`, "line": 1}]
	count(dockerignore.violation) == 0 with input as _with_patterns(patterns)
		with data.gate.params.dockerfile.dockerignore.must_exclude as ["secrets/app.key"]
}

test_missing_dockerignore_without_context_copy_is_a_warning if {
	doc := object.union(
		build.single(build.slim, [build.copy("COPY", 2, ["app.py"], "/app/", {})]),
		{"dockerignore": null},
	)
	build.lines(dockerignore.warning) == {1} with input as doc
	count(dockerignore.violation) == 0 with input as doc
}

test_complete_dockerignore_passes if {
	count(dockerignore.violation) == 0 with input as build.single(build.slim, [_copy_all])
	count(dockerignore.warning) == 0 with input as build.single(build.slim, [_copy_all])
}
