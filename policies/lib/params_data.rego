# METADATA
# title: the parameters' package (data only)
# description: |
#   data.gate.params is data (data.json, then each --data file), and this module declares its
#   package with no rule in it. regorus, the embedded engine, remembers a data path as read
#   only when a module's package lies at or under it: without this module it looked through
#   every loaded module again on each read of data.gate.params (gate.lib.params reads it once
#   per policy). OPA reads the data as before. See policies/README.md.
package gate.params
