package gate.dockerfile.add_instruction_test

import data.gate.dockerfile.add_instruction
import data.gate.dockerfile.lib.inputs_test as build

_add(sources, flags) := build.single(build.slim, [build.copy("ADD", 2, sources, "/opt/", flags)])

test_remote_url_without_checksum_is_a_violation if {
	build.lines(add_instruction.violation) == {2} with input as _add(["git@github.com:org/repo.git"], {})
	some finding in add_instruction.violation with input as _add(["https://example.com/tool.tar.gz"], {})
	contains(finding.msg, "downloads content without verifying it")
}

test_remote_url_with_checksum_passes if {
	doc := _add(["https://example.com/tool.tar.gz"], {"checksum": "sha256:abc"})
	count(add_instruction.violation) == 0 with input as doc
}

test_plain_local_files_are_violations if {
	count(add_instruction.violation) == 2 with input as _add(["secret.txt", "app/"], {})
	some finding in add_instruction.violation with input as _add(["."], {})
	contains(finding.msg, "expected COPY")
}

test_local_archives_and_copy_pass if {
	count(add_instruction.violation) == 0 with input as _add(["rootfs.tar.gz", "vendor.tar.xz"], {})
	doc := build.single(build.slim, [build.copy("COPY", 2, ["."], "/app", {})])
	count(add_instruction.violation) == 0 with input as doc
}
