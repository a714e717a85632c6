# METADATA
# title: the final stage runs as a non-root user
# description: |
#   Only the final stage's USER matters: it is the image's default user. It is the last
#   USER of the final stage, or inherited through FROM of an earlier stage; a USER in a
#   build stage that is only copied from does not count. No USER is a violation, unless
#   the base is a "nonroot" variant (tag nonroot or *-nonroot, as distroless publishes).
#   The USER is read as the runtime reads the image's User (gate.lib.users): uid 0 in
#   any spelling (root, 0, +0, -0, 00, 0:<group>, root:<group>), a uid that wraps to 0
#   modulo 2^32 (4294967296) and a uid or gid the runtime refuses (-1, 2147483648) are
#   violations. A USER whose build argument has no default cannot be checked and is a
#   warning.
# custom:
#   id: GATE-DF-012
#   severity: high
#   remediation: >-
#     End the final stage with USER and a non-zero numeric id (USER 65532, or
#     USER 10001:10001 after creating the user), or build FROM a :nonroot base.
#   scope: dockerfile
package gate.dockerfile.root_user

import data.gate.dockerfile.lib.lint
import data.gate.lib.users

_final := lint.final_stage

_nonroot_base if regex.match(`(^|-)nonroot$`, _final.origin.image.tag)

# What the runtime will make of the USER, and what is wrong with it.
_faults := {
	"root": "makes the final stage run as root",
	"wraps": "makes the final stage run as root where the runtime wraps uids modulo 2^32",
	"invalid": "is a user the runtime refuses or misreads",
}

# METADATA
# description: No USER in the final stage (nor in the stages it is built FROM).
violation contains lint.finding(msg, _final.line) if {
	_final.user == null
	not _nonroot_base
	msg := sprintf(
		"the final stage (FROM %s, line %d) sets no USER, so the container runs as root; expected USER with a non-zero id",
		[_final.base.text, _final.line],
	)
}

# METADATA
# description: The USER in effect at the end of the final stage is root, wraps to root or is invalid.
violation contains lint.finding(msg, _final.user.line) if {
	_final.user.resolved
	fault := _faults[users.kind(trim_space(_final.user.value))]
	msg := sprintf(
		"USER %s (line %d) %s; expected USER with an id in 1..2147483647",
		[_final.user.value, _final.user.line, fault],
	)
}

# METADATA
# description: The USER depends on a build argument without a default.
warning contains lint.finding(msg, _final.user.line) if {
	is_object(_final.user)
	not _final.user.resolved
	msg := sprintf(
		"USER %s (line %d) depends on a build argument without a default, so it may be root; expected an ARG default",
		[_final.user.value, _final.user.line],
	)
}
