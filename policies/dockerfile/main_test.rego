# Outside data.gate.dockerfile on purpose: regorus resolves data.gate.dockerfile[name] by
# evaluating the whole tree, and a test there that reads the decision would be recursive.
package gate.dockerfile_main_test

import data.gate.dockerfile.lib.inputs_test as build
import data.gate.dockerfile.main

_catalog := {
	"root_user": {
		"id": "GATE-DF-012", "severity": "high", "title": "non-root",
		"remediation": "USER 65532", "scope": "dockerfile",
	},
	"base_digest": {
		"id": "GATE-DF-004", "severity": "low", "title": "digest",
		"remediation": "pin", "scope": "dockerfile",
	},
}

_unpinned_root := build.single(build.image("node:22", "docker.io", "library/node", "22", ""), [])

test_the_decision_describes_each_finding if {
	decision := main.decision with input as _unpinned_root with data.gate.lint_catalog as _catalog
	decision.allowed == false
	decision.exempted == []
	decision.violations == [{
		"policy": "root_user", "id": "GATE-DF-012", "severity": "high", "title": "non-root",
		"remediation": "USER 65532", "msg": decision.violations[0].msg, "file": "Dockerfile", "line": 1,
		"image": "", "platform": "", "container": "",
	}]
	[w.id | some w in decision.warnings] == ["GATE-DF-004"]
}

test_a_clean_dockerfile_is_allowed if {
	clean := object.union(
		_unpinned_root.stages[0],
		{"base": build.slim, "origin": build.slim, "user": build.user(2, "10001", 0)},
	)
	decision := main.decision with input as build.document([clean]) with data.gate.lint_catalog as _catalog
	decision.allowed == true
	decision.violations == []
	decision.warnings == []
}

test_policies_outside_the_catalog_do_not_count if {
	decision := main.decision with input as _unpinned_root with data.gate.lint_catalog as {}
	decision.allowed == true
}

test_without_dockerfile_parameters_the_decision_fails_closed if {
	decision := main.decision with input as _unpinned_root
		with data.gate.lint_catalog as _catalog
		with data.gate.params.dockerfile as null
	[v.id | some v in decision.violations] == ["GATE-DF-004", "GATE-DF-012"]
	decision.warnings == []
}
