package gate.dockerfile.root_user_test

import data.gate.dockerfile.lib.inputs_test as build
import data.gate.dockerfile.root_user

_final(base, user) := object.union(
	build.stage(1, 6, base, []),
	{"is_final": true, "in_final_image": true, "user": user},
)

_distroless(tag) := build.image(
	concat(":", ["gcr.io/distroless/static-debian12", tag]), "gcr.io",
	"distroless/static-debian12", tag, "",
)

_user(name) := build.document([_final(build.slim, build.user(8, name, 1))])

test_no_user_in_the_final_stage_is_a_violation_at_its_from if {
	doc := build.single(build.slim, [])
	build.lines(root_user.violation) == {1} with input as doc
	some finding in root_user.violation with input as doc
	contains(finding.msg, "sets no USER")
}

test_only_the_final_stage_user_counts if {
	build_stage := object.union(build.stage(0, 1, build.slim, []), {"user": build.user(3, "app", 0)})
	doc := build.document([build_stage, _final(_distroless("latest"), null)])
	build.lines(root_user.violation) == {6} with input as doc
	root_build := object.union(build.stage(0, 1, build.slim, []), {"user": build.user(3, "root", 0)})
	final := _final(build.slim, build.user(8, "10001", 1))
	count(root_user.violation) == 0 with input as build.document([root_build, final])
}

test_user_root_or_uid_zero_is_a_violation_at_the_user_line if {
	build.lines(root_user.violation) == {8} with input as _user("root")
	build.lines(root_user.violation) == {8} with input as _user("0:0")
	build.lines(root_user.violation) == {8} with input as _user("root:app")
	build.lines(root_user.violation) == {8} with input as _user("00")
	build.lines(root_user.violation) == {8} with input as _user("+0")
	build.lines(root_user.violation) == {8} with input as _user("-0:app")
}

test_users_the_runtime_wraps_or_refuses_are_violations if {
	every user in ["4294967296", "-1", "2147483648", "1000:-1", "1000:1:1"] {
		build.lines(root_user.violation) == {8} with input as _user(user)
	}
	some finding in root_user.violation with input as _user("4294967296")
	contains(finding.msg, "USER 4294967296 (line 8) makes the final stage run as root where the runtime wraps uids")
}

test_a_non_root_user_passes if {
	count(root_user.violation) == 0 with input as _user("65532")
	count(root_user.violation) == 0 with input as _user("app:app")
	count(root_user.violation) == 0 with input as _user("1000:0")
	count(root_user.violation) == 0 with input as _user("+1000")
	count(root_user.violation) == 0 with input as _user("2147483647")
}

test_a_nonroot_base_passes_without_user if {
	count(root_user.violation) == 0 with input as build.document([_final(_distroless("nonroot"), null)])
	count(root_user.violation) == 0 with input as build.document([_final(_distroless("debug-nonroot"), null)])
}

test_an_unresolved_user_is_a_warning if {
	user := object.union(build.user(8, "$APP_UID", 1), {"resolved": false})
	doc := build.document([_final(build.slim, user)])
	build.lines(root_user.warning) == {8} with input as doc
	count(root_user.violation) == 0 with input as doc
}
