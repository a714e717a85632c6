# METADATA
# title: policy parameters
# description: |
#   The one way a policy reads its parameters: data.gate.params.<name>. Their defaults live
#   in data.json and nowhere else: gate loads data.json with the policies and deep-merges
#   each --data file over it (gate.policy.loader), and an OPA serving the bundle loads it
#   too, so a policy finds every parameter data.json has unless an override replaces it.
#   Where one is missing or of another type anyway, each policy fails closed (a missing
#   threshold blocks everything, a missing action denies) rather than falling back on a
#   copy of the default.
package gate.lib.params

# Indexed through an alias, not as data.gate.params[name]: regorus looks through every
# loaded module for each data.<path>[variable] it evaluates, and not for an alias. OPA
# reads both alike.
import data.gate.params as configured

# METADATA
# description: The parameters of the named policy (data.gate.params[name]), {} when there are none.
of(name) := value if {
	value := configured[name]
	is_object(value)
} else := {}
