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
import data.gate.lib.params
import data.gate.lib.provenance

# While the policy is off (the default) its one rule stops at the first line: the
# embedded engine evaluates every rule of a policy package, so the helpers are functions
# in gate.lib.provenance.

# METADATA
# description: No verified provenance about the image names a trusted builder (when enabled).
violation contains context.result(provenance.builder_message(builders), "") if {
	settings := params.of("provenance")
	settings.enabled == true
	builders := object.get(settings, "trusted_builders", [])
	not provenance.any_trusted(builders)
}
