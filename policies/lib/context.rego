# METADATA
# title: finding context
# description: |
#   Where a finding is: the image as the caller named it (fully qualified), the platform
#   of one image manifest, and the workload container (admission only). Every policy
#   builds its results with these so that every result carries the same keys on every
#   engine: image, platform and container are "" when they do not apply.
package gate.lib.context

# METADATA
# scope: document
# description: The normalised reference (name[:tag][@digest]), or the original one if it is missing.
default image := ""

image := input.image.reference.normalized if {
	is_string(input.image.reference.normalized)
	input.image.reference.normalized != ""
} else := input.image.reference.original if {
	is_string(input.image.reference.original)
}

# METADATA
# scope: document
# description: The workload container's name, "" outside admission.
default container := ""

container := input.workload.container.name if is_string(input.workload.container.name)

# METADATA
# description: A platform as os/architecture[/variant].
platform(p) := concat("/", [_field(p, "os"), _field(p, "architecture"), p.variant]) if {
	is_string(p.variant)
	p.variant != ""
} else := concat("/", [_field(p, "os"), _field(p, "architecture")])

default _field(_, _) := "unknown"

_field(p, key) := p[key] if is_string(p[key])

# METADATA
# description: |
#   The image, and where they apply the platform and container, as a phrase for messages:
#   "image X (linux/amd64) in container 'web'".
subject(platform_name) := concat("", [
	sprintf("image %s", [image]),
	_platform_phrase(platform_name),
	_container_phrase,
])

default _platform_phrase(_) := ""

_platform_phrase(platform_name) := sprintf(" (%s)", [platform_name]) if platform_name != ""

default _container_phrase := ""

_container_phrase := sprintf(" in container '%s'", [container]) if container != ""

# METADATA
# description: A result object with every key both engines must return.
result(msg, platform_name) := {
	"msg": msg,
	"image": image,
	"platform": platform_name,
	"container": container,
}
