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
import data.gate.lib.patterns
import data.gate.lib.provenance

_defaults := {"enabled": false, "repositories": [], "require_revision": true}

# regorus evaluates every rule of the package: while the policy is off (the default), the
# rules below are guarded by _enabled or are functions, so it costs one lookup.
_enabled if data.gate.params.provenance_source.enabled == true

_params := object.union(_defaults, data.gate.params.provenance_source) if _enabled

_revision_ok(_) if _params.require_revision != true

_revision_ok(statement) if {
	is_string(statement.source.revision)
	statement.source.revision != ""
}

_accepted(statement) if {
	patterns.match_any(_params.repositories, statement.source.repository)
	_revision_ok(statement)
}

_any_accepted if {
	_enabled
	some statement in provenance.about
	_accepted(statement)
}

_revision_phrase(params) := " at a named revision (commit)" if params.require_revision == true

else := ""

_expected(params) := sprintf("expected a source repository matching one of %s%s", [
	concat(", ", params.repositories),
	_revision_phrase(params),
]) if {
	count(params.repositories) > 0
} else := "expected a trusted source, but data.gate.params.provenance_source.repositories is empty"

_describe(statement) := sprintf("%s at revision %s", [statement.source.repository, statement.source.revision]) if {
	statement.source.revision != ""
} else := sprintf("%s without a revision", [statement.source.repository]) if {
	statement.source.repository != ""
} else := "no source repository"

_message(statements) := sprintf("%s has no verified build provenance naming its source%s; %s", [
	context.subject(""),
	provenance.not_counted("provenance"),
	_expected(_params),
]) if {
	count(statements) == 0
} else := sprintf("%s was built from %s; %s", [
	context.subject(""),
	concat(", ", {_describe(s) | some s in statements}),
	_expected(_params),
])

# METADATA
# description: No verified provenance about the image names an accepted source (when enabled).
violation contains context.result(_message(provenance.about), "") if {
	_enabled
	not _any_accepted
}
