package gate.lib.context_test

import data.gate.lib.context

_reference := {
	"original": "nginx",
	"registry": "docker.io",
	"repository": "library/nginx",
	"name": "docker.io/library/nginx",
	"tag": null,
	"digest": null,
	"normalized": "docker.io/library/nginx",
}

_workload := {
	"namespace": "default",
	"kind": "Pod",
	"name": "web",
	"operation": "CREATE",
	"annotations": {},
	"container": {"name": "nginx", "kind": "regular", "image": "nginx", "security_context": {}},
}

test_image_is_the_normalized_reference if {
	context.image == "docker.io/library/nginx" with input.image.reference as _reference
}

test_image_falls_back_to_the_original if {
	context.image == "nginx" with input.image.reference as object.union(_reference, {"normalized": ""})
	context.image == "" with input.image.reference as {}
	context.image == "" with input as {}
}

test_container if {
	context.container == "nginx" with input.workload as _workload
	context.container == "" with input.workload as null
}

test_platform if {
	context.platform({"os": "linux", "architecture": "arm", "variant": "v7"}) == "linux/arm/v7"
	context.platform({"os": "linux", "architecture": "amd64", "variant": ""}) == "linux/amd64"
	context.platform({"os": "linux", "architecture": "amd64"}) == "linux/amd64"
	context.platform({}) == "unknown/unknown"
}

test_subject if {
	context.subject("") == "image docker.io/library/nginx" with input.image.reference as _reference
		with input.workload as null

	subject := context.subject("linux/amd64") with input.image.reference as _reference
		with input.workload as _workload

	subject == "image docker.io/library/nginx (linux/amd64) in container 'nginx'"
}

test_result_has_every_key if {
	context.result("m", "linux/amd64") == {
		"msg": "m",
		"image": "docker.io/library/nginx",
		"platform": "linux/amd64",
		"container": "",
	} with input.image.reference as _reference
		with input.workload as null
}
