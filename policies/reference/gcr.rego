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

default _configured := {}

_configured := data.gate.params.gcr

_defaults := {"action": "warn"}

_params := object.union(_defaults, _configured)

# The registry host without a port, lower case.
_host := lower(parts[0]) if {
	parts := split(input.image.reference.registry, ":")
}

_on_gcr if _host == "gcr.io"

_on_gcr if glob.match("*.gcr.io", [], _host)

_warn_only if _params.action == "warn"

# Only on Container Registry: the embedded engine evaluates every rule of a policy package.
_message := sprintf(
	"%s is hosted on Container Registry (%s), which is deprecated; expected an Artifact Registry host (*-docker.pkg.dev)",
	[context.subject(""), _host],
) if {
	_on_gcr
}

# METADATA
# description: A Container Registry host, when the action is not "warn".
violation contains context.result(_message, "") if {
	_on_gcr
	not _warn_only
}

# METADATA
# description: A Container Registry host, when the action is "warn".
warning contains context.result(_message, "") if {
	_on_gcr
	_warn_only
}
