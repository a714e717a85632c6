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
import data.gate.lib.patterns
import data.gate.lib.provenance

_defaults := {"enabled": false, "keys": [], "identities": []}

# regorus evaluates every rule of the package: while the policy is off (the default), the
# rules below are guarded by _enabled or are functions, so it costs one lookup.
_enabled if data.gate.params.signatures.enabled == true

_params := object.union(_defaults, data.gate.params.signatures) if _enabled

default _signatures := []

_signatures := input.image.signatures if {
	_enabled
	is_array(input.image.signatures)
}

_required(signature) if signature.verified_by.key in _params.keys

_required(signature) if {
	some wanted in _params.identities
	_identity_matches(wanted, signature.verified_by.identity)
}

_identity_matches(wanted, identity) if {
	wanted.issuer == identity.issuer
	wanted.subject == identity.subject
}

_identity_matches(wanted, identity) if {
	wanted.issuer == identity.issuer
	patterns.match(wanted.subject_pattern, identity.subject)
}

_any_required if {
	_enabled
	some signature in _signatures
	_required(signature)
}

_wanted_identity(wanted) := sprintf("%s (issuer %s)", [wanted.subject, wanted.issuer]) if {
	is_string(wanted.subject)
} else := sprintf("%s (issuer %s)", [object.get(wanted, "subject_pattern", "?"), object.get(wanted, "issuer", "?")])

_expected(params) := sprintf("expected a signature by one of: %s", [concat(", ", array.concat(
	[sprintf("key %s", [k]) | some k in params.keys],
	[sprintf("identity %s", [_wanted_identity(i)]) | some i in params.identities],
))]) if {
	count(params.keys) + count(params.identities) > 0
} else := "expected a signature, but data.gate.params.signatures.keys and identities are empty"

_message(signatures) := sprintf("%s has no verified signature%s; %s", [
	context.subject(""),
	provenance.not_counted("signature"),
	_expected(_params),
]) if {
	count(signatures) == 0
} else := sprintf("%s is signed only by %s%s; %s", [
	context.subject(""),
	concat(", ", {provenance.signer(s) | some s in signatures}),
	provenance.not_counted("signature"),
	_expected(_params),
])

# METADATA
# description: No verified signature by a required key or identity (when enabled).
violation contains context.result(_message(_signatures), "") if {
	_enabled
	not _any_required
}
