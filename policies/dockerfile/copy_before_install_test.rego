package gate.dockerfile.copy_before_install_test

import data.gate.dockerfile.copy_before_install
import data.gate.dockerfile.lib.inputs_test as build

test_copy_all_before_npm_ci_is_reported_at_the_copy if {
	doc := build.single(build.slim, [
		build.copy("COPY", 2, ["."], ".", {}),
		build.run(3, "npm ci --omit=dev"),
		build.run(4, "pip install -r requirements.txt"),
	])
	build.lines(copy_before_install.violation) == {2} with input as doc
	some finding in copy_before_install.violation with input as doc
	contains(finding.msg, "install at line 3 (npm ci --omit=dev)")
}

test_add_all_before_pip_requirements_is_reported if {
	doc := build.single(build.slim, [
		build.copy("ADD", 2, ["./"], "/app", {}),
		build.run(3, "/venv/bin/pip install --no-cache-dir -r /app/requirements.txt"),
	])
	build.lines(copy_before_install.violation) == {2} with input as doc
}

test_manifests_first_then_source_passes if {
	doc := build.single(build.slim, [
		build.copy("COPY", 2, ["package.json", "package-lock.json"], "./", {}),
		build.run(3, "npm ci"),
		build.copy("COPY", 4, ["."], ".", {}),
		build.run(5, "npm run build"),
	])
	count(copy_before_install.violation) == 0 with input as doc
}

test_global_tool_install_and_copy_from_a_stage_pass if {
	doc := build.single(build.slim, [
		build.copy("COPY", 2, ["."], ".", {"from": "build"}),
		build.copy("COPY", 3, ["."], ".", {}),
		build.run(4, "npm install -g typescript@5"),
	])
	count(copy_before_install.violation) == 0 with input as doc
}
