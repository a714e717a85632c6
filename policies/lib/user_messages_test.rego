package gate.lib.user_messages_test

import data.gate.lib.user_messages

_image := {"reference": {"name": "r.example/app"}, "platforms": []}

test_a_named_user_in_strict_mode_says_so if {
	strict := user_messages.message("nova", "named", "linux/amd64", true) with input.image as _image
	contains(strict, "(linux/amd64) runs as the named user 'nova', which cannot be proven non-root")
	contains(strict, "without /etc/passwd (strict mode); expected")
	lenient := user_messages.message("nova", "named", "", false) with input.image as _image
	not contains(lenient, "strict mode")
}

test_each_kind_says_what_is_expected if {
	every kind, expected in {"root": "user", "wraps": "uid", "invalid": "uid"} {
		msg := user_messages.message("4294967296", kind, "", false) with input.image as _image
		endswith(msg, user_messages.expected(expected))
	}
}
