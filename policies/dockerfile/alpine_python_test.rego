package gate.dockerfile.alpine_python_test

import data.gate.dockerfile.alpine_python
import data.gate.dockerfile.lib.inputs_test as build

_python_alpine := build.image("python:3.12-alpine", "docker.io", "library/python", "3.12-alpine", "")

test_toolchain_on_python_alpine_is_a_warning if {
	doc := build.single(_python_alpine, [build.run(2, "apk add --no-cache build-base libffi-dev")])
	build.lines(alpine_python.warning) == {2} with input as doc
}

test_compiled_package_on_python_alpine_is_a_warning if {
	doc := build.single(_python_alpine, [build.run(3, "pip install --no-cache-dir numpy==2.1.0 flask")])
	build.lines(alpine_python.warning) == {3} with input as doc
}

test_python_installed_on_plain_alpine_counts if {
	alpine := build.image("alpine:3.20", "docker.io", "library/alpine", "3.20", "")
	doc := build.single(alpine, [
		build.run(2, "apk add --no-cache python3 py3-pip"),
		build.run(3, "pip install cryptography"),
	])
	build.lines(alpine_python.warning) == {3} with input as doc
}

test_pure_python_packages_and_slim_images_pass if {
	count(alpine_python.warning) == 0 with input as build.single(_python_alpine, [build.run(2, "pip install flask")])
	count(alpine_python.warning) == 0 with input as build.single(build.slim, [build.run(2, "pip install numpy")])
	alpine := build.image("alpine:3.20", "docker.io", "library/alpine", "3.20", "")
	count(alpine_python.warning) == 0 with input as build.single(alpine, [build.run(2, "apk add gcc musl-dev")])
}
