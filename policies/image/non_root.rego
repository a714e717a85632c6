# METADATA
# title: image runs as a non-root user
# description: |
#   A container must not run as root. The image config's User is read as runc and
#   containerd read it (gate.lib.users): "user[:group]", where a part Go's strconv.Atoi
#   accepts is a numeric id and anything else a name from the image's /etc/passwd.
#   - Root, a violation: "", "root", ":<group>" and uid 0 in every spelling ("0", "+0",
#     "-0", "000", "0:<group>", "root:<group>").
#   - Wraps to root, a violation: a uid outside 0..2147483647 that is 0 modulo 2^32
#     ("4294967296"): current runtimes refuse it, runtimes without that range check
#     run it as uid 0.
#   - Invalid, a violation: any other uid or gid outside 0..2147483647 ("-1",
#     "2147483648", "1000:-1") or more than one ":". Current runtimes refuse to start
#     it; older ones wrapped it or looked it up as a name, which the image's own
#     /etc/passwd can map to uid 0. Never taken for a named user.
#   - Numeric non-root, passes: a uid in 1..2147483647 ("65532", "+1000", "1000:1000",
#     "65532:0").
#   - Named ("nova"): cannot be proven non-root without the image's /etc/passwd: a
#     warning, or a violation when data.gate.params.non_root.strict is true.
#   At admission the workload's effective securityContext decides first: runAsUser
#   replaces the image user (0 is a violation, above 0 passes), and runAsNonRoot: true
#   proves a root or named image user cannot start (the kubelet refuses uid 0 in every
#   spelling and any name). It proves nothing for a wrapping or invalid uid: the
#   kubelet reads "4294967296" as a non-zero uid (and only recent kubelets check the
#   range), so those stay violations unless runAsUser is set. An image whose
#   configuration is unknown (no platforms) fails closed unless the securityContext
#   proves non-root.
# custom:
#   id: GATE-IMG-001
#   severity: high
#   remediation: >-
#     Build the image with a numeric non-root USER in 1..2147483647 (e.g. USER 65532) and set securityContext
#     runAsNonRoot true with a non-zero runAsUser in the workload.
#   scope: image
package gate.policies.non_root

import data.gate.lib.context
import data.gate.lib.params
import data.gate.lib.user_messages
import data.gate.lib.users

default _security_context := {}

_security_context := input.workload.container.security_context

# runAsUser, when set, decides alone: it overrides the image's user (0 is a violation,
# anything above passes). Only a number counts: Rego orders every string above every
# number, so "0" > 0 holds. A negative uid is invalid (the API server rejects it) and
# proves nothing.
_run_as_user_set if {
	is_number(_security_context.runAsUser)
	_security_context.runAsUser >= 0
}

# Without runAsUser, runAsNonRoot: true makes the kubelet refuse to start a root user.
_run_as_non_root if _security_context.runAsNonRoot == true

# The image user of each platform whose user is not plainly numeric, and what the
# runtime makes of it (gate.lib.users), by platform index: only while the image user is
# used (no runAsUser). A plain uid such as "65532" is numeric and passes; it is not
# classified further.
_users[i] := [user, users.kind(user)] if {
	not _run_as_user_set
	some i, p in input.image.platforms
	user := users.config_user(p)
	not users.plain(user)
}

# Which kinds of image user violate: root and a named user (strict mode) only when the
# image user alone decides (runAsNonRoot proves neither can start); a uid that wraps or
# is invalid whatever runAsNonRoot says (the kubelet reads it as non-zero).
_violates(kind) if kind in {"wraps", "invalid"}

_violates("root") if not _run_as_non_root

_violates("named") if {
	not _run_as_non_root
	_strict
}

# Read only when a platform runs as a named user, the one case strict mode decides (every
# rule of a policy is evaluated on each decision; the parameter lookup is the costly part).
default _strict := false

_strict if {
	some [_, "named"] in _users
	params.of("non_root").strict == true
}

# METADATA
# description: |
#   The image user of a platform is root, wraps to root, is invalid, or (strict mode) is
#   named. runAsNonRoot does not help a uid that wraps or is invalid: the kubelet reads
#   such a uid as non-zero.
violation contains context.result(msg, platform) if {
	some i, [user, kind] in _users
	_violates(kind)
	platform := context.platform(input.image.platforms[i])
	msg := user_messages.message(user, kind, platform, _strict)
}

# METADATA
# description: The securityContext runs the container as uid 0.
violation contains context.result(msg, "") if {
	_security_context.runAsUser == 0
	is_number(_security_context.runAsUser)
	msg := sprintf(
		"%s has securityContext runAsUser: 0, so it runs as root whatever the image says; %s",
		[context.subject(""), "expected runAsUser > 0 and runAsNonRoot: true"],
	)
}

# METADATA
# description: No image configuration (no platforms) to read the user from.
violation contains context.result(msg, "") if {
	not _configuration_known
	not _run_as_user_set
	not _run_as_non_root
	msg := sprintf(
		"%s: image configuration unknown: cannot verify the user; %s",
		[context.subject(""), user_messages.expected("user")],
	)
}

_configuration_known if count(input.image.platforms) > 0

# METADATA
# description: A named image user, outside strict mode.
warning contains context.result(msg, platform) if {
	not _run_as_non_root
	not _strict
	some i, [user, "named"] in _users
	platform := context.platform(input.image.platforms[i])
	msg := user_messages.message(user, "named", platform, false)
}
