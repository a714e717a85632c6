package gate.dockerfile.secret_files_test

import data.gate.dockerfile.lib.inputs_test as build
import data.gate.dockerfile.secret_files

_copy(sources) := build.single(build.slim, [build.copy("COPY", 3, sources, "/app/", {})])

test_env_files_keys_and_credentials_are_violations if {
	build.lines(secret_files.violation) == {3} with input as _copy([".env"])
	keys := _copy(["config/.env.production", "id_rsa", "tls/server.key", "~/.aws/"])
	count(secret_files.violation) == 4 with input as keys
	count(secret_files.violation) == 3 with input as _copy(["credentials.json", "private-key.pem", "gcp-sa-key.json"])
}

test_secret_txt_added_is_a_violation if {
	doc := build.single(build.slim, [build.copy("ADD", 5, ["secret.txt"], "/root/secret.txt", {})])
	some finding in secret_files.violation with input as doc
	contains(finding.msg, "ADD of 'secret.txt' (line 5)")
}

test_templates_certificates_and_ordinary_files_pass if {
	count(secret_files.violation) == 0 with input as _copy([".env.example", "ca.pem", "app.py", "keyboard.js", "<<EOF"])
}

test_copies_from_other_stages_do_not_count if {
	doc := build.single(build.slim, [build.copy("COPY", 3, ["/src/.env"], "/app/", {"from": "build"})])
	count(secret_files.violation) == 0 with input as doc
}
