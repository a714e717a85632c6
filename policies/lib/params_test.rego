package gate.lib.params_test

import data.gate.lib.params

test_a_policy_reads_its_object if {
	params.of("gcr") == {"action": "warn"} with data.gate.params.gcr as {"action": "warn"}
}

test_one_parameter_mocked_is_seen if {
	params.of("gcr") == {} with data.gate.params.gcr as {}
	params.of("tags").disallowed == ["dev"] with data.gate.params.tags.disallowed as ["dev"]
}

test_missing_or_not_an_object_is_empty if {
	params.of("no such policy") == {}
	params.of("gcr") == {} with data.gate.params.gcr as "warn"
	params.of("gcr") == {} with data.gate.params as ["gcr"]
}

test_every_read_in_one_evaluation_sees_the_same_data if {
	reads := [params.of("gcr"), params.of("tags"), params.of("gcr")] with data.gate.params as {"gcr": {"action": "x"}}
	reads == [{"action": "x"}, {}, {"action": "x"}]
}
