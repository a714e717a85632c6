# METADATA
# title: COPY rather than ADD
# description: |
#   ADD fetches URLs and unpacks local archives; for anything else it is COPY with
#   surprises. ADD of a remote URL or git repository without --checksum downloads
#   content nobody verified; ADD of a plain local file or folder should be COPY. ADD of
#   a local tar archive (its documented use) and ADD --checksum of a URL pass.
# custom:
#   id: GATE-DF-013
#   severity: medium
#   remediation: >-
#     Use COPY for local files; for downloads use ADD --checksum=sha256:... or RUN curl
#     with a checksum check.
#   scope: dockerfile
package gate.dockerfile.add_instruction

import data.gate.dockerfile.lib.lint

_remote(source) if regex.match(`(?i)^([a-z][a-z0-9+.-]*://|git@)`, source)

_archive(source) if regex.match(`(?i)\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst)$`, source)

_adds contains [instruction, source] if {
	some stage in input.stages
	some instruction in stage.instructions
	instruction.cmd == "ADD"
	some source in instruction.sources
}

# METADATA
# description: ADD of a URL or git repository without --checksum.
violation contains lint.finding(msg, instruction.line) if {
	some [instruction, source] in _adds
	_remote(source)
	object.get(instruction.flags, "checksum", "") == ""
	msg := sprintf(
		"ADD %s (line %d) downloads content without verifying it; expected ADD --checksum=sha256:...",
		[source, instruction.line],
	)
}

# METADATA
# description: ADD of a local file or folder that is not an archive.
violation contains lint.finding(msg, instruction.line) if {
	some [instruction, source] in _adds
	not _remote(source)
	not _archive(source)
	msg := sprintf(
		"ADD of '%s' (line %d) copies a plain local file or folder; expected COPY, which does nothing more",
		[source, instruction.line],
	)
}
