package gate.lib.provenance_test

import data.gate.lib.provenance

_digest := "sha256:1111111111111111111111111111111111111111111111111111111111111111"

_platform_digest := "sha256:2222222222222222222222222222222222222222222222222222222222222222"

_image := {
	"reference": {"digest": _digest},
	"platforms": [{"manifest_digest": _platform_digest}, {"manifest_digest": null}],
	"provenance": [
		{"subjects": [{"name": "a", "digest": _digest}]},
		{"subjects": [{"name": "b", "digest": _platform_digest}]},
		{"subjects": [{"name": "c", "digest": "sha256:33"}]},
	],
	"unverified": [
		{"kind": "signature", "origin": "registry", "reason": "unknown key"},
		{"kind": "provenance", "origin": "registry", "reason": "altered"},
	],
}

test_image_digests_are_the_reference_and_platform_digests if {
	expected := {_digest, _platform_digest}
	provenance.image_digests == expected with input.image as _image
}

test_about_counts_statements_naming_an_image_digest if {
	count(provenance.about) == 2 with input.image as _image
}

test_documents_before_1_1_read_as_empty if {
	provenance.statements == [] with input.image as {"reference": {"digest": _digest}}
	provenance.not_counted("signature") == "" with input.image as {"reference": {"digest": _digest}}
}

test_not_counted_names_the_reasons_of_one_kind if {
	provenance.not_counted("signature") == "; found but not counted: unknown key" with input.image as _image
}

test_signer_names_a_key_or_an_identity if {
	provenance.signer({"verified_by": {"key": "gcpkms://k", "identity": null}}) == "key gcpkms://k"
	by_identity := {"key": null, "identity": {"issuer": "https://i", "subject": "me@example.com"}}
	provenance.signer({"verified_by": by_identity}) == "identity me@example.com (issuer https://i)"
	provenance.signer({"verified_by": {}}) == "an unknown signer"
}
