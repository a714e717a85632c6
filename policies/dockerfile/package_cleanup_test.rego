package gate.dockerfile.package_cleanup_test

import data.gate.dockerfile.lib.inputs_test as build
import data.gate.dockerfile.package_cleanup

_apt := "apt-get update && apt-get install -y --no-install-recommends curl"

test_cleanup_in_a_separate_run_is_a_violation if {
	doc := build.single(build.slim, [build.run(2, _apt), build.run(3, "rm -rf /var/lib/apt/lists/*")])
	build.lines(package_cleanup.violation) == {3} with input as doc
	build.lines(package_cleanup.warning) == {2} with input as doc
}

test_cleanup_in_the_same_run_passes if {
	doc := build.single(build.slim, [build.run(2, concat(" && ", [_apt, "rm -rf /var/lib/apt/lists/*"]))])
	count(package_cleanup.violation) == 0 with input as doc
	count(package_cleanup.warning) == 0 with input as doc
}

test_apk_and_pip_caches if {
	doc := build.single(build.slim, [build.run(2, "apk add curl"), build.run(3, "pip install flask")])
	build.lines(package_cleanup.warning) == {2, 3} with input as doc
	clean := build.single(build.slim, [
		build.run(2, "apk add --no-cache curl"),
		build.run(3, "pip install --no-cache-dir flask"),
		build.run(4, "pip cache purge"),
	])
	count(package_cleanup.warning) == 0 with input as clean
	build.lines(package_cleanup.violation) == {4} with input as clean
}

test_cache_mounts_and_pip_no_cache_dir_pass if {
	mounted := object.union(
		build.run(3, "pip install flask"),
		{"mounts": [{"type": "cache", "target": "/root/.cache/pip"}]},
	)
	doc := build.single(build.slim, [build.declare("ENV", 2, "PIP_NO_CACHE_DIR", "1"), build.run(3, "pip install x")])
	count(package_cleanup.warning) == 0 with input as doc
	count(package_cleanup.warning) == 0 with input as build.single(build.slim, [mounted])
}

test_stages_outside_the_final_image_do_not_count if {
	doc := build.document([
		build.stage(0, 1, build.slim, [build.run(2, _apt), build.run(3, "apt-get clean")]),
		object.union(build.stage(1, 5, build.slim, []), {"is_final": true, "in_final_image": true}),
	])
	count(package_cleanup.violation) == 0 with input as doc
	count(package_cleanup.warning) == 0 with input as doc
}
