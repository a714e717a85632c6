# METADATA
# title: Container Registry is deprecated
# description: |
#   Images on Container Registry hosts (gcr.io and its regional hosts such as eu.gcr.io)
#   should move to Artifact Registry (LOCATION-docker.pkg.dev). The host must be gcr.io
#   or end in ".gcr.io" as whole labels: gcr.io.evil.example is not Container Registry.
#   data.gate.params.gcr.action is "warn" (default) or "deny"; any other value denies.
# custom:
#   id: GATE-REF-003
#   severity: low
#   remediation: >-
#     Move the image to Artifact Registry (LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE), for example with
#     `gcloud artifacts docker upgrade migrate`, and update the reference.
#   scope: reference
package gate.policies.gcr

import data.gate.lib.context
import data.gate.lib.params

# The registry host without a port, lower case, when it is Container Registry's. The
# cheap test first: nearly every image is on another host.
_gcr_host := host if {
	is_string(input.image.reference.registry)
	registry := lower(input.image.reference.registry)
	contains(registry, "gcr.io")
	parts := split(registry, ":")
	host := parts[0]

	# gcr.io itself or any of its subdomains (us.gcr.io), not evilgcr.io
	endswith(concat("", [".", host]), ".gcr.io")
}

# METADATA
# description: A Container Registry host, when the action is not "warn" (a missing action denies).
violation contains context.result(_message(_gcr_host), "") if {
	_gcr_host
	not _warn_only
}

# METADATA
# description: A Container Registry host, when the action is "warn".
warning contains context.result(_message(_gcr_host), "") if {
	_gcr_host
	_warn_only
}

# Read only for an image on Container Registry (every rule of a policy is evaluated on
# each decision; the parameter lookup is the costly part).
_warn_only if {
	_gcr_host
	params.of("gcr").action == "warn"
}

_message(host) := sprintf(
	"%s is hosted on Container Registry (%s), which is deprecated; expected an Artifact Registry host (*-docker.pkg.dev)",
	[context.subject(""), host],
)
