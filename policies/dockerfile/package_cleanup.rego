# METADATA
# title: package-manager caches removed in the same RUN
# description: |
#   Each RUN is a layer: files removed by a later RUN are still in the earlier layer and
#   in every pull. In the stages that make up the final image, a RUN that only cleans
#   up (rm -rf /var/lib/apt/lists/*, apk cache clean, pip cache purge, ...) is a
#   violation; an install that leaves its cache behind (apt-get install without removing
#   the lists, apk add without --no-cache, pip install without --no-cache-dir) is a
#   warning unless the cache is a RUN --mount=type=cache.
# custom:
#   id: GATE-DF-009
#   severity: low
#   remediation: >-
#     Install and clean up in one RUN (apt-get update && apt-get install -y --no-install-recommends
#     ... && rm -rf /var/lib/apt/lists/*; apk add --no-cache; pip install --no-cache-dir).
#   scope: dockerfile
package gate.dockerfile.package_cleanup

import data.gate.dockerfile.lib.lint

_p := `(^|[\s;&|(/])`

_installs := [
	concat("", [_p, `apt(-get)?\s+[^;&|]*\binstall\b`]),
	concat("", [_p, `apk\s+[^;&|]*\badd\b`]),
	concat("", [_p, `pip[0-9.]*\s+[^;&|]*\binstall\b`]),
	concat("", [_p, `(yum|dnf|microdnf)\s+[^;&|]*\binstall\b`]),
]

_cleanups := [
	`rm\s+[^;&|]*/var/lib/apt/lists`,
	concat("", [_p, `apt(-get)?\s+(-\S+\s+)*(clean|autoclean)\b`]),
	`rm\s+[^;&|]*/var/cache/(apk|apt|yum|dnf)`,
	concat("", [_p, `apk\s+cache\s+clean\b`]),
	concat("", [_p, `pip[0-9.]*\s+cache\s+purge\b`]),
	`rm\s+[^;&|]*\.cache/pip`,
	concat("", [_p, `(yum|dnf|microdnf)\s+clean\b`]),
]

# For each manager: the install, what shows its cache was not kept, the fix, the cache
# folder (a cache mount there is fine) and an environment variable that disables it.
_leftovers := [
	{
		"install": _installs[0], "clean": `/var/lib/apt/lists`, "fix": "rm -rf /var/lib/apt/lists/*",
		"folder": "/var/lib/apt", "env": "",
	},
	{
		"install": _installs[1], "clean": `--no-cache|/var/cache/apk`, "fix": "--no-cache",
		"folder": "/var/cache/apk", "env": "",
	},
	{
		"install": _installs[2], "clean": `--no-cache-dir|PIP_NO_CACHE_DIR`, "fix": "--no-cache-dir",
		"folder": ".cache/pip", "env": "PIP_NO_CACHE_DIR",
	},
]

_shipped_runs contains [stage, run] if {
	some stage in input.stages
	stage.in_final_image
	some run in stage.instructions
	run.cmd == "RUN"
}

_cache_mounted(run, folder) if {
	some mount in run.mounts
	mount.type == "cache"
	contains(object.get(mount, "target", ""), folder)
}

_env_set(stage, name) if {
	some instruction in stage.instructions
	some var in instruction.vars
	var.name == name
}

# METADATA
# description: A RUN that only removes package-manager files, after they were committed.
violation contains lint.finding(msg, run.line) if {
	some [_, run] in _shipped_runs
	lint.matches_any(_cleanups, run.command)
	not lint.matches_any(_installs, run.command)
	msg := sprintf(
		"RUN at line %d removes package-manager files in a separate layer, which does not shrink the image; expected one RUN",
		[run.line],
	)
}

# METADATA
# description: An install that leaves its cache in the layer.
warning contains lint.finding(msg, run.line) if {
	some [stage, run] in _shipped_runs
	some manager in _leftovers
	regex.match(manager.install, run.command)
	not regex.match(manager.clean, run.command)
	not _cache_mounted(run, manager.folder)
	not _env_set(stage, manager.env)
	msg := sprintf(
		"RUN at line %d installs packages and leaves their cache (%s) in the layer; expected '%s' in the same RUN",
		[run.line, manager.folder, manager.fix],
	)
}
