# METADATA
# title: image runs as a non-root user
# description: |
#   A container must not run as root. The image config's User is root when it is "",
#   "root", "0" or "root:<group>" / "0:<group>"; a numeric uid above 0 ("65532",
#   "1000:1000", "65532:0") is non-root. A named user ("nova") cannot be proven non-root
#   without the image's /etc/passwd: it is a warning, or a violation when
#   data.gate.params.non_root.strict is true. At admission the workload's effective
#   securityContext decides first: runAsUser overrides the image user (0 is a violation,
#   above 0 passes), and runAsNonRoot: true is enforced by the kubelet, so either proves
#   non-root. An image whose configuration is unknown (no platforms) fails closed unless
#   the securityContext proves non-root.
# custom:
#   id: GATE-IMG-001
#   severity: high
#   remediation: >-
#     Build the image with a numeric non-root USER (e.g. USER 65532) and set securityContext runAsNonRoot true with
#     a non-zero runAsUser in the workload.
#   scope: image
package gate.policies.non_root

import data.gate.lib.context

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

# What the user's uid part (before ":") is: "root" (empty, "root", or 0 written with any
# number of zeros; no to_number: regorus refuses leading zeros), "numeric" (a uid above
# 0) or "named" (anything else, e.g. "nova").
_kind(uid) := "root" if {
	uid in {"", "root"}
} else := "root" if {
	regex.match(`^0+$`, uid)
} else := "numeric" if {
	regex.match(`^[0-9]+$`, uid)
} else := "named"

# Each platform's image user and its kind, by platform index: classified once.
_users[i] := [user, _kind(parts[0])] if {
	some i, p in input.image.platforms
	user := _user(p)
	parts := split(user, ":")
}

# The image user only matters when the securityContext neither sets runAsUser nor runAsNonRoot.
_image_user_decides if {
	not _run_as_user_set
	not _run_as_non_root
}

_configuration_known if count(input.image.platforms) > 0

_expectation := concat(" ", [
	"expected a numeric non-root USER in the image (e.g. 65532)",
	"or a securityContext with runAsNonRoot: true or runAsUser > 0",
])

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
