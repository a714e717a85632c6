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
import data.gate.lib.params
import data.gate.lib.provenance

# While the policy is off (the default) its one rule stops at the first line.

# METADATA
# description: A verified provenance statement whose subjects do not name the image (when enabled).
violation contains context.result(msg, "") if {
	settings := params.of("provenance_subject")
	settings.enabled == true
	some statement in provenance.statements
	not provenance.about_image(statement)
	msg := sprintf(
		"%s carries provenance from %s (from %s, verified by %s) about %s; expected its subject to be the image's digest %s",
		[
			context.subject(""), statement.builder_id, statement.origin, provenance.signer(statement),
			provenance.subject_digests(statement), concat(" or ", sort(provenance.image_digests)),
		],
	)
}
