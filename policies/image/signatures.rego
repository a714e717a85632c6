# METADATA
# title: signed by a trusted key or identity
# description: |
#   Off unless data.gate.params.signatures.enabled is true. The image must carry a
#   verified signature (cosign's simple signing, or a Sigstore bundle) by one of
#   data.gate.params.signatures.keys (key ids: gcpkms://… for a Cloud KMS key version,
#   ni:///sha-256;… for a PEM key) or, keyless, one of data.gate.params.signatures.identities:
#   {"issuer", "subject"} (exact) or {"issuer", "subject_pattern"} (gate's name syntax:
#   "*" within a path segment, "**" across). Signatures are verified before they count
#   (GATE_TRUSTED_KEYS, GATE_SIGSTORE_TRUSTED_ROOT) and must name the image's digest.
# custom:
#   id: GATE-IMG-009
#   severity: high
#   remediation: >-
#     Sign the image by digest with a required key (cosign sign --key gcpkms://…) or identity (keyless cosign sign
#     in the trusted CI), and trust the key in GATE_TRUSTED_KEYS or the Sigstore root in GATE_SIGSTORE_TRUSTED_ROOT.
#   scope: image
package gate.policies.signatures

import data.gate.lib.context
import data.gate.lib.params
import data.gate.lib.provenance

# While the policy is off (the default) its one rule stops at the first line: the
# helpers are functions in gate.lib.provenance (see provenance.rego).

# METADATA
# description: No verified signature by a required key or identity (when enabled).
violation contains context.result(provenance.signature_message(wanted), "") if {
	wanted := params.of("signatures")
	wanted.enabled == true
	not provenance.any_required_signature(wanted)
}
