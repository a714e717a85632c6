package gate.dockerfile.curl_pipe_shell_test

import data.gate.dockerfile.curl_pipe_shell
import data.gate.dockerfile.lib.inputs_test as build

_run(command) := build.single(build.slim, [build.run(4, command)])

test_download_piped_into_a_shell_is_a_violation if {
	build.lines(curl_pipe_shell.violation) == {4} with input as _run("curl -fsSL https://get.example.com | sh")
	count(curl_pipe_shell.violation) == 1 with input as _run("wget -qO- https://x.example/i.sh | bash -s -- --yes")
	count(curl_pipe_shell.violation) == 1 with input as _run("curl -sL https://deb.example/setup | sudo -E bash -")
	count(curl_pipe_shell.violation) == 1 with input as _run("curl -sSL https://install.example/py | python3 -")
}

test_substitution_forms_are_violations if {
	count(curl_pipe_shell.violation) == 1 with input as _run(`sh -c "$(curl -fsSL https://x.example/install.sh)"`)
	count(curl_pipe_shell.violation) == 1 with input as _run("bash <(curl -s https://x.example/install.sh)")
}

test_checked_downloads_pass if {
	command := "curl -fsSLo /tmp/i.sh https://x.example/i.sh && echo 'abc  /tmp/i.sh' | sha256sum -c && sh /tmp/i.sh"
	count(curl_pipe_shell.violation) == 0 with input as _run(command)
	keyring := "curl -fsSL https://x.example/key.asc | gpg --dearmor -o /k.gpg"
	count(curl_pipe_shell.violation) == 0 with input as _run(keyring)
}
