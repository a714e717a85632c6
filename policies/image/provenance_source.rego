# METADATA
# title: built from a trusted source
# description: |
#   Off unless data.gate.params.provenance_source.enabled is true. Verified build
#   provenance about the image must name a source repository that matches one of
#   data.gate.params.provenance_source.repositories and, when require_revision is true
#   (default), the commit it was built from. Repositories are written host/path, without
#   scheme, "git+" or ".git" ("github.com/example/app"); patterns use gate's name
#   syntax: "*" within one path segment, "**" across segments ("github.com/example/**").
# custom:
#   id: GATE-IMG-007
#   severity: high
#   remediation: >-
#     Build the image from an approved repository with a builder that records the source and its commit in signed
#     provenance (Cloud Build triggers, the SLSA GitHub generator), or add the repository to
#     data.gate.params.provenance_source.repositories.
#   scope: image
package gate.policies.provenance_source

import data.gate.lib.context
import data.gate.lib.params
import data.gate.lib.provenance

# While the policy is off (the default) its one rule stops at the first line: the
# helpers are functions in gate.lib.provenance (see provenance.rego).

# METADATA
# description: No verified provenance about the image names an accepted source (when enabled).
violation contains context.result(provenance.source_message(source), "") if {
	source := params.of("provenance_source")
	source.enabled == true
	not provenance.any_accepted_source(source)
}
