# METADATA
# title: name patterns
# description: |
#   Matching of image names (registry/repository) against patterns, as a whole:
#   "*" matches any run of characters within one path segment (never "/"), "**" any run
#   of characters including "/", every other character only itself. So
#   "*-docker.pkg.dev/**" matches "us-docker.pkg.dev/p/r/i" but neither
#   "us-docker.pkg.dev.evil.example/x" nor "evil.example/us-docker.pkg.dev/x".
#   These are the semantics of gate.reference.match_pattern. The pattern is translated to
#   a regular expression rather than given to glob.match, because OPA and regorus
#   disagree on glob.match for "a/**/b" against "a/b", "**/a" against "a" and "**"
#   inside a segment; regex.match with this small syntax behaves the same on both.
package gate.lib.patterns

# Every character that means something in a regular expression, but "*", escaped with
# a backslash (one regex.replace: escaping character by character cost ten times as much).
_escape(text) := regex.replace(text, `[.+?()\[\]{}|^$\\]`, `\$0`)

# METADATA
# description: |
#   The anchored regular expression a pattern stands for. Every "*" becomes "[^/]*"
#   first, then each pair of them (what "**" became) ".*", left to right: "***" is "**"
#   followed by "*". The escaped pattern holds no "[^/]*" of its own ("[" and "^" are
#   escaped), and replace needs no regular expression.
regex_of(pattern) := concat("", ["(?s)^", replace(replace(_escape(pattern), "*", "[^/]*"), "[^/]*[^/]*", ".*"), "$"])

# METADATA
# description: True when pattern matches name as a whole ("*" within one segment, "**" across segments).
match(pattern, name) if {
	is_string(pattern)
	is_string(name)
	regex.match(regex_of(pattern), name)
}

# METADATA
# description: True when at least one of patterns matches name.
match_any(patterns, name) if {
	some pattern in patterns
	match(pattern, name)
}
