# METADATA
# title: provenance is about this image
# description: |
#   Off unless data.gate.params.provenance_subject.enabled is true. Every verified
#   provenance statement attached to the image must name the image's own digest (the
#   reference's, or a platform manifest's) among its subjects: a genuine statement about
#   another image, copied next to this one, is refused. The builder and source policies
#   only ever count statements about the image; this one says when one is not.
# custom:
#   id: GATE-IMG-008
#   severity: critical
#   remediation: >-
#     Attach only the provenance its builder made for this digest; rebuild the image if its provenance names
#     another digest, and find out who attached the foreign statement.
#   scope: image
package gate.policies.provenance_subject

import data.gate.lib.context
import data.gate.lib.provenance

_defaults := {"enabled": false}

# regorus evaluates every rule of the package: while the policy is off (the default), the
# rules below are guarded by _enabled or are functions, so it costs one lookup.
_enabled if data.gate.params.provenance_subject.enabled == true

_params := object.union(_defaults, data.gate.params.provenance_subject) if _enabled

_subject_digests(statement) := concat(", ", [s.digest | some s in statement.subjects]) if {
	count(statement.subjects) > 0
} else := "no subject"

# METADATA
# description: A verified provenance statement whose subjects do not name the image (when enabled).
violation contains context.result(msg, "") if {
	_enabled
	some statement in provenance.statements
	not provenance.about_image(statement)
	msg := sprintf(
		"%s carries provenance from %s (from %s, verified by %s) about %s; expected its subject to be the image's digest %s",
		[
			context.subject(""), statement.builder_id, statement.origin, provenance.signer(statement),
			_subject_digests(statement), concat(" or ", sort(provenance.image_digests)),
		],
	)
}
