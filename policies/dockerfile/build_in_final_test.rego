package gate.dockerfile.build_in_final_test

import data.gate.dockerfile.build_in_final
import data.gate.dockerfile.lib.inputs_test as build

_golang := build.image("golang:1.22", "docker.io", "library/golang", "1.22", "")

test_compiling_in_the_final_stage_is_a_violation if {
	doc := build.single(_golang, [build.run(13, "go build -o /")])
	build.lines(build_in_final.violation) == {13} with input as doc
	count(build_in_final.violation) == 1 with input as build.single(build.slim, [build.run(3, "npm ci && npm run build")])
	maven := build.single(build.slim, [build.run(3, "mvn -B -DskipTests package")])
	count(build_in_final.violation) == 1 with input as maven
	count(build_in_final.violation) == 1 with input as build.single(build.slim, [build.run(3, "./gradlew bootJar")])
}

test_a_build_stage_passes if {
	doc := build.document([
		build.stage(0, 1, _golang, [build.run(3, "CGO_ENABLED=0 go build -o /app")]),
		object.union(build.stage(1, 5, build.slim, []), {"is_final": true, "in_final_image": true}),
	])
	count(build_in_final.violation) == 0 with input as doc
}

test_a_stage_the_final_stage_is_built_from_counts if {
	doc := build.document([
		object.union(build.stage(0, 1, _golang, [build.run(3, "cargo build --release")]), {"in_final_image": true}),
		object.union(build.stage(1, 5, build.from_stage("build", 0), []), {"is_final": true, "in_final_image": true}),
	])
	build.lines(build_in_final.violation) == {3} with input as doc
}

test_other_go_commands_pass if {
	doc := build.single(_golang, [build.run(3, "go vet ./... && go test ./...")])
	count(build_in_final.violation) == 0 with input as doc
}
