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
import data.gate.lib.users

default _configured := {}

_configured := data.gate.params.non_root

_defaults := {"strict": false}

_params := object.union(_defaults, _configured)

default _security_context := {}

_security_context := input.workload.container.security_context

# runAsUser, when the securityContext sets it, overrides the image's user.
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

_user(p) := p.config.user if is_string(p.config.user)

else := ""

# Each platform's image user and what the runtime makes of it (gate.lib.users), by
# platform index: classified once.
_users[i] := [user, users.kind(user)] if {
	some i, p in input.image.platforms
	user := _user(p)
}

# The image user is used unless the securityContext sets runAsUser.
_image_user_used if not _run_as_user_set

# It alone decides when runAsNonRoot is not set either (the kubelet then checks nothing).
_image_user_decides if {
	_image_user_used
	not _run_as_non_root
}

_configuration_known if count(input.image.platforms) > 0

_expectation := concat(" ", [
	"expected a numeric non-root USER in the image (e.g. 65532)",
	"or a securityContext with runAsNonRoot: true or runAsUser > 0",
])

# For an image uid runAsNonRoot cannot vouch for.
_expected_uid := "expected a numeric USER in 1..2147483647 in the image (e.g. 65532) or a securityContext runAsUser > 0"

# METADATA
# description: The securityContext runs the container as uid 0.
violation contains context.result(msg, "") if {
	is_number(_security_context.runAsUser)
	_security_context.runAsUser == 0
	msg := sprintf(
		"%s has securityContext runAsUser: 0, so it runs as root whatever the image says; %s",
		[context.subject(""), "expected runAsUser > 0 and runAsNonRoot: true"],
	)
}

# METADATA
# description: The image user of a platform is root.
violation contains context.result(msg, platform) if {
	_image_user_decides
	some i, [user, kind] in _users
	kind == "root"
	platform := context.platform(input.image.platforms[i])
	msg := sprintf("%s runs as root (config User is '%s'); %s", [context.subject(platform), user, _expectation])
}

# METADATA
# description: A named image user in strict mode.
violation contains context.result(msg, platform) if {
	_params.strict == true
	_image_user_decides
	some i, [user, kind] in _users
	kind == "named"
	platform := context.platform(input.image.platforms[i])
	msg := sprintf(
		"%s runs as the named user '%s', which cannot be proven non-root without /etc/passwd (strict mode); %s",
		[context.subject(platform), user, _expectation],
	)
}

# METADATA
# description: |
#   The image uid wraps to 0 on runtimes without a range check. runAsNonRoot does not
#   help: the kubelet reads such a uid as non-zero.
violation contains context.result(msg, platform) if {
	_image_user_used
	some i, [user, kind] in _users
	kind == "wraps"
	platform := context.platform(input.image.platforms[i])
	msg := sprintf(
		"%s runs as root on runtimes without a uid range check (config User is '%s': %s); %s",
		[
			context.subject(platform), user,
			"the uid is 0 modulo 2^32, so it wraps to uid 0, and the kubelet's runAsNonRoot check reads it as non-zero",
			_expected_uid,
		],
	)
}

# METADATA
# description: |
#   The image user is one the runtime refuses or misreads (an id out of range, more than
#   one ":"). runAsNonRoot does not help: the kubelet reads such a uid as non-zero.
violation contains context.result(msg, platform) if {
	_image_user_used
	some i, [user, kind] in _users
	kind == "invalid"
	platform := context.platform(input.image.platforms[i])
	msg := sprintf(
		"%s has an invalid config User '%s' (%s): %s; %s",
		[
			context.subject(platform), user, users.problem(user),
			"current runtimes refuse to start it, older ones wrap it or look it up as a name the image can map to root",
			_expected_uid,
		],
	)
}

# METADATA
# description: No image configuration (no platforms) to read the user from.
violation contains context.result(msg, "") if {
	_image_user_decides
	not _configuration_known
	msg := sprintf("%s: image configuration unknown: cannot verify the user; %s", [context.subject(""), _expectation])
}

# METADATA
# description: A named image user, outside strict mode.
warning contains context.result(msg, platform) if {
	_params.strict != true
	_image_user_decides
	some i, [user, kind] in _users
	kind == "named"
	platform := context.platform(input.image.platforms[i])
	msg := sprintf(
		"%s runs as the named user '%s', which cannot be proven non-root without /etc/passwd; %s",
		[context.subject(platform), user, _expectation],
	)
}
