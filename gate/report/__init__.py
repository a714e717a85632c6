"""Output: one renderer interface (:mod:`gate.report.interface`) for every command's
results, and the decision renderers (:mod:`gate.report.decision`)."""
