# METADATA
# title: supply-chain evidence
# description: |
#   Helpers shared by the provenance and signature policies: the image's own digests, the
#   verified provenance that is about this image, and a phrase naming what was found but
#   not counted (input.image.unverified). Documents older than input schema 1.1 have no
#   provenance, signatures or unverified lists: they read as empty.
package gate.lib.provenance

import data.gate.lib.context
import data.gate.lib.patterns

# METADATA
# scope: document
# description: The image's digests, the reference's and every platform manifest's.
image_digests contains input.image.reference.digest if is_string(input.image.reference.digest)

image_digests contains p.manifest_digest if {
	some p in input.image.platforms
	is_string(p.manifest_digest)
}

# METADATA
# scope: document
# description: Verified provenance statements (input.image.provenance, [] when absent).
default statements := []

statements := input.image.provenance if is_array(input.image.provenance)

# METADATA
# description: True when one of the statement's subjects is one of the image's digests.
about_image(statement) if {
	some subject in statement.subjects
	subject.digest in image_digests
}

# METADATA
# scope: document
# description: The verified provenance statements about this image.
about := [s | some s in statements; about_image(s)]

# METADATA
# description: |
#   "; found but not counted: <reasons>" for the unverified evidence of kind ("provenance"
#   or "signature"), "" when there is none.
not_counted(kind) := phrase if {
	reasons := [u.reason | some u in _unverified; u.kind == kind]
	count(reasons) > 0
	phrase := sprintf("; found but not counted: %s", [concat("; ", reasons)])
} else := ""

default _unverified := []

_unverified := input.image.unverified if is_array(input.image.unverified)

# METADATA
# description: Who verified a piece of evidence, for messages ("key K" or "issuer I, subject S").
signer(evidence) := sprintf("key %s", [evidence.verified_by.key]) if {
	is_string(evidence.verified_by.key)
} else := sprintf("identity %s (issuer %s)", [identity.subject, identity.issuer]) if {
	identity := evidence.verified_by.identity
	is_string(identity.subject)
} else := "an unknown signer"

# The helpers of the policies GATE-IMG-006 to 009 live here, as functions: the embedded
# engine evaluates every rule and function definition of a policy package on each
# decision, so a policy that is off (the default) holds only its guarded violation rules.

# METADATA
# description: True when one of the statements about the image comes from one of the trusted builders.
any_trusted(builders) if {
	some statement in about
	some trusted in builders
	_builder_matches(statement.builder_id, trusted.id)
	_keys_allow(object.get(trusted, "keys", []), statement)
}

# An id matches the builder id exactly, or with a version after "@".
_builder_matches(builder, id) if builder == id

_builder_matches(builder, id) if startswith(builder, concat("", [id, "@"]))

_keys_allow(keys, _) if keys == []

_keys_allow(keys, statement) if statement.verified_by.key in keys

# METADATA
# description: What GATE-IMG-006 says when no statement about the image names a trusted builder.
builder_message(builders) := sprintf("%s has no verified build provenance%s; %s", [
	context.subject(""),
	not_counted("provenance"),
	_expected_builders(builders),
]) if {
	count(about) == 0
} else := sprintf("%s was built by %s, not by a trusted builder; %s", [
	context.subject(""),
	concat(", ", [sprintf("%s (from %s, verified by %s)", [s.builder_id, s.origin, signer(s)]) | some s in about]),
	_expected_builders(builders),
])

_expected_builders(builders) := sprintf("expected SLSA provenance from one of the trusted builders: %s", [ids]) if {
	count(builders) > 0
	ids := concat(", ", [b.id | some b in builders])
} else := "expected a trusted builder, but data.gate.params.provenance.trusted_builders is empty"

# METADATA
# description: True when a statement about the image names an accepted source (params of GATE-IMG-007).
any_accepted_source(params) if {
	some statement in about
	patterns.match_any(object.get(params, "repositories", []), statement.source.repository)
	_revision_ok(params, statement)
}

_revision_ok(params, _) if object.get(params, "require_revision", true) != true

_revision_ok(_, statement) if {
	is_string(statement.source.revision)
	statement.source.revision != ""
}

# METADATA
# description: What GATE-IMG-007 says when no statement about the image names an accepted source.
source_message(params) := sprintf("%s has no verified build provenance naming its source%s; %s", [
	context.subject(""),
	not_counted("provenance"),
	_expected_source(params),
]) if {
	count(about) == 0
} else := sprintf("%s was built from %s; %s", [
	context.subject(""),
	concat(", ", {_describe_source(s) | some s in about}),
	_expected_source(params),
])

_expected_source(params) := sprintf("expected a source repository matching one of %s%s", [
	concat(", ", repositories),
	_revision_phrase(params),
]) if {
	repositories := object.get(params, "repositories", [])
	count(repositories) > 0
} else := "expected a trusted source, but data.gate.params.provenance_source.repositories is empty"

_revision_phrase(params) := " at a named revision (commit)" if object.get(params, "require_revision", true) == true

else := ""

_describe_source(statement) := sprintf("%s at revision %s", [
	statement.source.repository,
	statement.source.revision,
]) if {
	statement.source.revision != ""
} else := sprintf("%s without a revision", [statement.source.repository]) if {
	statement.source.repository != ""
} else := "no source repository"

# METADATA
# description: The digests a statement's subjects name, for messages.
subject_digests(statement) := concat(", ", [s.digest | some s in statement.subjects]) if {
	count(statement.subjects) > 0
} else := "no subject"

# METADATA
# scope: document
# description: The verified signatures (input.image.signatures, [] when absent).
default signatures := []

signatures := input.image.signatures if is_array(input.image.signatures)

# METADATA
# description: True when one of the verified signatures is by a required key or identity (params of GATE-IMG-009).
any_required_signature(params) if {
	some signature in signatures
	_required(params, signature)
}

_required(params, signature) if signature.verified_by.key in object.get(params, "keys", [])

_required(params, signature) if {
	some wanted in object.get(params, "identities", [])
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

# METADATA
# description: What GATE-IMG-009 says when no verified signature is by a required key or identity.
signature_message(params) := sprintf("%s has no verified signature%s; %s", [
	context.subject(""),
	not_counted("signature"),
	_expected_signers(params),
]) if {
	count(signatures) == 0
} else := sprintf("%s is signed only by %s%s; %s", [
	context.subject(""),
	concat(", ", {signer(s) | some s in signatures}),
	not_counted("signature"),
	_expected_signers(params),
])

_wanted_identity(wanted) := sprintf("%s (issuer %s)", [wanted.subject, wanted.issuer]) if {
	is_string(wanted.subject)
} else := sprintf("%s (issuer %s)", [object.get(wanted, "subject_pattern", "?"), object.get(wanted, "issuer", "?")])

_expected_signers(params) := sprintf("expected a signature by one of: %s", [concat(", ", array.concat(
	[sprintf("key %s", [k]) | some k in keys],
	[sprintf("identity %s", [_wanted_identity(i)]) | some i in identities],
))]) if {
	keys := object.get(params, "keys", [])
	identities := object.get(params, "identities", [])
	count(keys) + count(identities) > 0
} else := "expected a signature, but data.gate.params.signatures.keys and identities are empty"
