# METADATA
# title: built by a trusted builder
# description: |
#   Off unless data.gate.params.provenance.enabled is true. The image must carry verified
#   SLSA build provenance about itself (a subject names the image's digest) whose builder
#   is one of data.gate.params.provenance.trusted_builders: {"id", "keys"}. An id matches
#   the builder id exactly, or with a version after "@" (Cloud Build's
#   https://cloudbuild.googleapis.com/GoogleHostedWorker@v0.3); when "keys" is not empty,
#   only provenance verified by one of those key ids counts for that builder, so a key
#   trusted for something else cannot vouch for Cloud Build. Provenance is found in
#   Artifact Analysis (Cloud Build's BUILD occurrences) and the registry (OCI referrers,
#   cosign .att tags) and counts only when verified against GATE_TRUSTED_KEYS or the
#   Sigstore trusted root.
# custom:
#   id: GATE-IMG-006
#   severity: high
#   remediation: >-
#     Build the image on a trusted builder that records signed SLSA provenance (Cloud Build with images: and
#     requestedVerifyOption VERIFIED, or a CI that runs cosign attest --type slsaprovenance), and trust its key in
#     GATE_TRUSTED_KEYS.
#   scope: image
package gate.policies.provenance

import data.gate.lib.context
import data.gate.lib.provenance

_defaults := {"enabled": false, "trusted_builders": []}

# regorus evaluates every rule of the package: while the policy is off (the default), the
# rules below are guarded by _enabled or are functions, so it costs one lookup.
_enabled if data.gate.params.provenance.enabled == true

_params := object.union(_defaults, data.gate.params.provenance) if _enabled

_builder_matches(builder, id) if builder == id

_builder_matches(builder, id) if startswith(builder, concat("", [id, "@"]))

_trusted(statement) if {
	some trusted in _params.trusted_builders
	_builder_matches(statement.builder_id, trusted.id)
	_keys_allow(object.get(trusted, "keys", []), statement)
}

_keys_allow(keys, _) if keys == []

_keys_allow(keys, statement) if statement.verified_by.key in keys

_expected(builders) := sprintf("expected SLSA provenance from one of the trusted builders: %s", [ids]) if {
	count(builders) > 0
	ids := concat(", ", [b.id | some b in builders])
} else := "expected a trusted builder, but data.gate.params.provenance.trusted_builders is empty"

_message(found) := sprintf("%s has no verified build provenance%s; %s", [
	context.subject(""),
	provenance.not_counted("provenance"),
	_expected(_params.trusted_builders),
]) if {
	count(found) == 0
} else := sprintf("%s was built by %s, not by a trusted builder; %s", [
	context.subject(""),
	concat(", ", found),
	_expected(_params.trusted_builders),
])

_found(statements) := [line |
	some s in statements
	line := sprintf("%s (from %s, verified by %s)", [s.builder_id, s.origin, provenance.signer(s)])
]

# METADATA
# description: No verified provenance about the image names a trusted builder (when enabled).
violation contains context.result(_message(_found(provenance.about)), "") if {
	_enabled
	not _any_trusted
}

_any_trusted if {
	_enabled
	some statement in provenance.about
	_trusted(statement)
}
