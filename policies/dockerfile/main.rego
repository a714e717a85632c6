# METADATA
# title: gate lint decision
# description: |
#   Collects the results of every Dockerfile policy named in data.gate.lint_catalog
#   (built by gate from the packages' METADATA) into the same shape as the image
#   decision, with each finding's file and line. There are no exemptions in lint:
#   "exempted" is always empty. An undefined decision never passes.
package gate.dockerfile.main

_describe(name, meta) := {
	"policy": name,
	"id": meta.id,
	"severity": meta.severity,
	"title": meta.title,
	"remediation": meta.remediation,
}

# The kinds are spelled out: a variable key under data.gate.dockerfile could name this
# package itself, which OPA rejects as recursion.
_violations := [result |
	some name, meta in data.gate.lint_catalog
	some finding in data.gate.dockerfile[name].violation
	result := object.union(_describe(name, meta), finding)
]

_warnings := [result |
	some name, meta in data.gate.lint_catalog
	some finding in data.gate.dockerfile[name].warning
	result := object.union(_describe(name, meta), finding)
]

# METADATA
# description: The lint decision over every Dockerfile policy.
# entrypoint: true
decision := {
	"allowed": count(_violations) == 0,
	"violations": _violations,
	"warnings": _warnings,
	"exempted": [],
}
