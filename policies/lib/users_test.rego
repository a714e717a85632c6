package gate.lib.users_test

import data.gate.lib.users

# User -> kind, as runc / containerd read it (see gate.lib.users).
_kinds := {
	"": "root",
	"root": "root",
	"0": "root",
	"+0": "root",
	"-0": "root",
	"00": "root",
	"+00": "root",
	"-00": "root",
	":0": "root",
	":1000": "root",
	"0:0": "root",
	"0:0:0": "root",
	"root:wheel": "root",
	"4294967296": "wraps",
	"+4294967296": "wraps",
	"-4294967296": "wraps",
	"04294967296": "wraps",
	"8589934592": "wraps",
	"9223372032559808512": "wraps",
	"-9223372036854775808": "wraps",
	"4294967296:1000": "wraps",
	"-1": "invalid",
	"-2147483648": "invalid",
	"2147483648": "invalid",
	"4294967295": "invalid",
	"4294967297": "invalid",
	"9223372036854775807": "invalid",
	"9223372036854775808": "invalid",
	"-9223372036854775809": "invalid",
	"18446744073709551616": "invalid",
	"1000:-1": "invalid",
	"1000:4294967296": "invalid",
	"nova:2147483648": "invalid",
	"1000:1000:1000": "invalid",
	"1": "numeric",
	"+1000": "numeric",
	"01000": "numeric",
	"2147483647": "numeric",
	"1000:1000": "numeric",
	"65532:0": "numeric",
	"1000:-0": "numeric",
	"1000:staff": "numeric",
	"1000:": "numeric",
	"nova": "named",
	"ROOT": "named",
	" 0": "named",
	"0 ": "named",
	"0x0": "named",
	"1_000": "named",
	"1e3": "named",
	"+": "named",
	"-": "named",
	"++0": "named",
	"nova:0": "named",
}

test_kinds if {
	every user, kind in _kinds {
		users.kind(user) == kind
	}
}

test_a_user_that_is_not_a_string_has_no_kind if {
	not users.kind(0)
	not users.kind(null)
}

test_problems if {
	users.problem("-1") == "uid -1 is outside 0..2147483647"
	users.problem("1000:4294967296") == "gid 4294967296 is outside 0..2147483647"
	users.problem("1:2:3") == "more than one ':' (expected user[:group])"
	valid := {user | some user, kind in _kinds; kind != "invalid"}
	every user in valid {
		users.problem(user) == ""
	}
	every user in object.keys(_kinds) - valid {
		users.problem(user) != ""
	}
}

test_plain_users_are_numeric if {
	every user in ["1", "65532", "999999999", "65532:65532", "65532:0", "1000:00"] {
		users.plain(user)
		users.kind(user) == "numeric"
	}
	every user in ["", "0", "00", "+1", "-1", "0065532", "1000000000", "65532:", ":1", "1:2:3", "nova", "1 ", "65532:-1"] {
		not users.plain(user)
	}
}

test_config_user_is_the_configured_user_or_empty if {
	users.config_user({"config": {"user": "65532"}}) == "65532"
	users.config_user({"config": {"user": 0}}) == ""
	users.config_user({"config": {}}) == ""
}
