# METADATA
# title: supply-chain evidence
# description: |
#   Helpers shared by the provenance and signature policies: the image's own digests, the
#   verified provenance that is about this image, and a phrase naming what was found but
#   not counted (input.image.unverified). Documents older than input schema 1.1 have no
#   provenance, signatures or unverified lists: they read as empty.
package gate.lib.provenance

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
