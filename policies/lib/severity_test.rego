package gate.lib.severity_test

import data.gate.lib.severity

test_ranks_are_ordered if {
	severity.rank("MINIMAL") < severity.rank("LOW")
	severity.rank("LOW") < severity.rank("MEDIUM")
	severity.rank("MEDIUM") < severity.rank("HIGH")
	severity.rank("HIGH") < severity.rank("CRITICAL")
	severity.rank("high") == 4
}

test_unspecified_ranks_as_critical_by_default if {
	severity.unspecified_as == "CRITICAL" with data.gate.params.vulnerabilities as {}
	severity.rank("UNSPECIFIED") == 5 with data.gate.params.vulnerabilities as {}
	severity.rank("UNSPECIFIED") == 5
}

test_unspecified_severity_parameter if {
	severity.rank("UNSPECIFIED") == 3 with data.gate.params.vulnerabilities.unspecified_severity as "medium"
	severity.rank("UNSPECIFIED") == 0 with data.gate.params.vulnerabilities.unspecified_severity as "UNSPECIFIED"
	severity.unspecified_as == "CRITICAL" with data.gate.params.vulnerabilities.unspecified_severity as "SEVERE"
	severity.unspecified_as == "CRITICAL" with data.gate.params.vulnerabilities.unspecified_severity as 3
}

test_unknown_severity_ranks_as_unspecified if {
	severity.rank("NEGLIGIBLE") == 5
	severity.rank(null) == 5
	severity.rank("NEGLIGIBLE") == 2 with data.gate.params.vulnerabilities.unspecified_severity as "LOW"
	not severity.known("NEGLIGIBLE")
	severity.known("low")
}

test_thresholds if {
	severity.exceeds("CRITICAL", "HIGH")
	not severity.exceeds("HIGH", "HIGH")
	not severity.exceeds("MEDIUM", "HIGH")
	severity.exceeds("LOW", "MINIMAL")
	not severity.exceeds("MINIMAL", "MINIMAL")
	severity.exceeds("MEDIUM", "low")
}

test_block_all_blocks_everything if {
	severity.exceeds("MINIMAL", "BLOCK_ALL")
	lowest := {"unspecified_severity": "UNSPECIFIED"}
	severity.exceeds("UNSPECIFIED", "BLOCK_ALL") with data.gate.params.vulnerabilities as lowest
}

test_allow_all_blocks_nothing if {
	not severity.exceeds("CRITICAL", "ALLOW_ALL")
	not severity.exceeds("UNSPECIFIED", "ALLOW_ALL")
}

test_critical_threshold_blocks_nothing_known if {
	not severity.exceeds("CRITICAL", "CRITICAL")
}

test_unknown_threshold_blocks_everything if {
	severity.exceeds("MINIMAL", "SEVERE")
	severity.exceeds("MINIMAL", 4)
	not severity.valid_threshold("SEVERE")
	not severity.valid_threshold(null)
	severity.valid_threshold("allow_all")
	severity.threshold_rank("SEVERE") == -1
}
