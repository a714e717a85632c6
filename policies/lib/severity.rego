# METADATA
# title: severity ranks and thresholds
# description: |
#   Severities rank UNSPECIFIED < MINIMAL < LOW < MEDIUM < HIGH < CRITICAL. Thresholds
#   follow Binary Authorization's vulnerabilityCheck: a finding violates a threshold
#   when its rank is above it; BLOCK_ALL blocks every finding and ALLOW_ALL none.
#   UNSPECIFIED (and any severity gate does not know) is ranked as
#   data.gate.params.vulnerabilities.unspecified_severity, "CRITICAL" by default, so a
#   finding without a severity fails closed. An unknown threshold blocks everything.
package gate.lib.severity

import data.gate.lib.params

# METADATA
# description: Rank of every known severity.
ranks := {
	"UNSPECIFIED": 0,
	"MINIMAL": 1,
	"LOW": 2,
	"MEDIUM": 3,
	"HIGH": 4,
	"CRITICAL": 5,
}

# METADATA
# scope: document
# description: The severity names, upper case.
names := object.keys(ranks)

# METADATA
# scope: document
# description: |
#   The rank each severity name decides with: its own, UNSPECIFIED's that of
#   unspecified_as (rank(name) for every name, as one table).
decision_ranks := object.union(ranks, {"UNSPECIFIED": ranks[unspecified_as]})

# METADATA
# description: Rank of every threshold; a finding violates when its rank is greater.
thresholds := {
	"BLOCK_ALL": -1,
	"MINIMAL": 1,
	"LOW": 2,
	"MEDIUM": 3,
	"HIGH": 4,
	"CRITICAL": 5,
	"ALLOW_ALL": 6,
}

# METADATA
# scope: document
# description: |
#   The severity an UNSPECIFIED finding is treated as (the unspecified_severity
#   parameter; CRITICAL, the highest rank, when it is missing or not a known severity:
#   fail closed).
default unspecified_as := "CRITICAL"

unspecified_as := upper(value) if {
	value := params.of("vulnerabilities").unspecified_severity
	known(value)
}

# METADATA
# description: True when s is one of the known severities.
known(s) if {
	is_string(s)
	is_number(ranks[upper(s)])
}

# METADATA
# description: |
#   The rank used for decisions: a known, specified severity ranks as itself; UNSPECIFIED
#   and anything unknown rank as unspecified_as.
rank(s) := ranks[upper(s)] if {
	known(s)
	upper(s) != "UNSPECIFIED"
} else := ranks[unspecified_as]

# METADATA
# description: True when t is one of the known thresholds.
valid_threshold(t) if {
	is_string(t)
	is_number(thresholds[upper(t)])
}

# METADATA
# description: The rank of threshold t; an unknown threshold is BLOCK_ALL (fail closed).
threshold_rank(t) := object.get(thresholds, upper(t), -1) if is_string(t)

else := -1

# METADATA
# description: True when a finding of severity s is above threshold t.
exceeds(s, t) if rank(s) > threshold_rank(t)
