# METADATA
# title: image age
# description: |
#   An image built more than data.gate.params.freshness.max_age_days (default 90) before
#   the evaluation time (input.evaluated_at, never the wall clock, so that a decision can
#   be reproduced) carries stale packages. The action is "deny" (default) or "warn"; any
#   other value denies. An image without a creation time, with one that names no real date
#   and time, or with the reproducible-build epoch (1970-01-01), has an unknown age: a
#   warning. An evaluation time that cannot be read denies.
# custom:
#   id: GATE-IMG-004
#   severity: medium
#   remediation: >-
#     Rebuild the image from an up-to-date base image and redeploy it by its new digest; rebuild on a schedule so
#     images never exceed the maximum age.
#   scope: image
package gate.policies.freshness

import data.gate.lib.context
import data.gate.lib.params
import data.gate.lib.rfc3339

_params := params.of("freshness")

# A max_age_days that is missing or not a number makes every known age too old (Rego
# orders every string above every number, so a string would pass every image).
default _max_age_days := -1

_max_age_days := _params.max_age_days if is_number(_params.max_age_days)

# Timestamps are read by gate.lib.rfc3339, not time.parse_rfc3339_ns: a date that does not
# exist ("2025-02-29T00:00:00Z") must make the creation time unknown, not fail evaluation.
_evaluated_at := rfc3339.seconds(input.evaluated_at)

# Each platform's creation time in seconds since the epoch, by platform index, read once.
# Absent when the time is missing, names no real date and time, or is the
# reproducible-build epoch (1970-01-01): then the age is unknown.
_created_at[i] := seconds if {
	some i, p in input.image.platforms
	seconds := rfc3339.seconds(p.config.created)
	not startswith(p.config.created, "1970-01-01")
}

# The platforms older than max_age_days, with their age in whole days. Only for images
# created before the evaluation time: floor of a negative fraction differs between OPA
# (toward zero) and regorus.
_too_old[i] := age if {
	some i, created_at in _created_at
	_evaluated_at >= created_at
	age := floor((_evaluated_at - created_at) / 86400)
	age > _max_age_days
}

# METADATA
# description: Too old, when the action is not "warn" (a missing action denies).
violation contains _too_old_result(p, age) if {
	not _warn_only
	some i, age in _too_old
	p := input.image.platforms[i]
}

# METADATA
# description: No usable evaluation time, so the age cannot be computed.
violation contains context.result(msg, "") if {
	count(input.image.platforms) > 0
	not _evaluated_at
	msg := sprintf(
		"%s: the evaluation time evaluated_at (%v) is missing or not RFC 3339, %s; expected e.g. %s",
		[
			context.subject(""), object.get(input, "evaluated_at", null),
			"so the image age cannot be checked", "2025-01-31T12:00:00Z",
		],
	)
}

# METADATA
# description: Too old, when the action is "warn".
warning contains _too_old_result(p, age) if {
	_warn_only
	some i, age in _too_old
	p := input.image.platforms[i]
}

# METADATA
# description: No creation time, an unparseable one, or the reproducible-build epoch.
warning contains context.result(msg, platform) if {
	some i, p in input.image.platforms
	not _created_at[i]
	platform := context.platform(p)
	msg := sprintf(
		"%s: creation time unknown (config created is %v), so its age cannot be checked; expected an RFC 3339 build time",
		[context.subject(platform), object.get(p.config, "created", null)],
	)
}

_warn_only if _params.action == "warn"

_too_old_result(p, age) := context.result(msg, platform) if {
	platform := context.platform(p)
	msg := sprintf(
		"%s was created %s, %d days before the evaluation time %s; expected at most %v days",
		[
			context.subject(platform), p.config.created, age, input.evaluated_at,
			object.get(_params, "max_age_days", null),
		],
	)
}
