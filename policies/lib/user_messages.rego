# METADATA
# title: image user messages
# description: |
#   The messages of GATE-IMG-001 (gate.policies.non_root): what it found of an image
#   user, where, and what is expected instead. They live here, not in the policy's
#   package, because the embedded engine evaluates every head of a policy package on each
#   decision, called or not, and a library's functions only when called (policies/README.md,
#   issue 14, seventh round).
package gate.lib.user_messages

import data.gate.lib.context
import data.gate.lib.users

# METADATA
# scope: document
# description: |
#   What is expected of a root or named image user, or of one the configuration does not
#   name ("user"); and of an image uid runAsNonRoot cannot vouch for ("uid").
expected("user") := concat(" ", [
	"expected a numeric non-root USER in the image (e.g. 65532)",
	"or a securityContext with runAsNonRoot: true or runAsUser > 0",
])

expected("uid") := concat(" ", [
	"expected a numeric USER in 1..2147483647 in the image (e.g. 65532)",
	"or a securityContext runAsUser > 0",
])

# METADATA
# scope: document
# description: |
#   The message for an image user of a kind (gate.lib.users) on a platform; strict is
#   true when strict mode made a named user a violation.
message(user, "root", platform, _) := sprintf(
	"%s runs as root (config User is '%s'); %s",
	[context.subject(platform), user, expected("user")],
)

message(user, "named", platform, strict) := sprintf(
	"%s runs as the named user '%s', which cannot be proven non-root without /etc/passwd%s; %s",
	[context.subject(platform), user, _strict_phrase(strict), expected("user")],
)

message(user, "wraps", platform, _) := sprintf(
	"%s runs as root on runtimes without a uid range check (config User is '%s': %s); %s",
	[
		context.subject(platform), user,
		"the uid is 0 modulo 2^32, so it wraps to uid 0, and the kubelet's runAsNonRoot check reads it as non-zero",
		expected("uid"),
	],
)

message(user, "invalid", platform, _) := sprintf(
	"%s has an invalid config User '%s' (%s): %s; %s",
	[
		context.subject(platform), user, users.problem(user),
		"current runtimes refuse to start it, older ones wrap it or look it up as a name the image can map to root",
		expected("uid"),
	],
)

_strict_phrase(true) := " (strict mode)"

_strict_phrase(false) := ""
