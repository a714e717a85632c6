"""Continuous validation: ``gate audit`` re-judges the workloads a cluster already runs.

Admission judges an image once, the day it is deployed; a CVE published later, an image
that ages past the freshness limit or a policy tightened since does not reach pods that
are running. ``gate audit`` lists every pod-bearing workload through the Kubernetes API
(:mod:`gate.audit.inventory`), judges each image that is actually running with fresh facts
(:mod:`gate.audit.judge`), and says per workload which policies it breaks now: a table
or JSON, PolicyReports or OpenReports (:mod:`gate.audit.reports`), Events on workloads
whose status changed (:mod:`gate.audit.events`), Prometheus gauges and one JSON log line
per violating workload. docs/audit.md.

    $ gate audit                     # once: a table, exit 1 when anything violates
    $ gate audit --every 1h          # continuously, as deploy/kubernetes/audit runs it
"""
