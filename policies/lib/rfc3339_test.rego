package gate.lib.rfc3339_test

import data.gate.lib.rfc3339

test_epoch_and_known_instants if {
	rfc3339.seconds("1970-01-01T00:00:00Z") == 0
	rfc3339.seconds("2025-02-01T00:00:00Z") == 1738368000
	rfc3339.seconds("9999-12-31T23:59:59Z") == 253402300799
	rfc3339.seconds("0001-01-01T00:00:00Z") == -62135596800
}

test_fractions_are_dropped if {
	rfc3339.seconds("2016-09-23T23:20:45.78976459Z") == 1474672845
}

test_offsets if {
	rfc3339.seconds("2000-02-29T00:00:00+02:00") == 951775200
	rfc3339.seconds("2024-11-02T20:00:00-05:00") == 1730595600
	rfc3339.seconds("2025-01-01T00:00:00+23:59") == 1735603260
	rfc3339.seconds("2025-01-01t00:00:00z") == 1735689600
}

test_leap_years if {
	rfc3339.seconds("2024-02-29T12:00:00Z") == 1709208000
	rfc3339.valid("2000-02-29T00:00:00Z")
	not rfc3339.valid("2025-02-29T00:00:00Z")
	not rfc3339.valid("1900-02-29T00:00:00Z")
}

test_impossible_dates_and_times if {
	not rfc3339.valid("2025-13-45T10:00:00Z")
	not rfc3339.valid("2025-00-10T10:00:00Z")
	not rfc3339.valid("2025-06-31T00:00:00Z")
	not rfc3339.valid("2025-06-00T00:00:00Z")
	not rfc3339.valid("2025-01-01T24:00:00Z")
	not rfc3339.valid("2025-01-01T23:60:00Z")
	not rfc3339.valid("2025-01-01T23:59:61Z")
	not rfc3339.valid("2025-01-01T00:00:00+24:00")
	not rfc3339.valid("2025-01-01T00:00:00+00:60")
	not rfc3339.valid("0000-01-01T00:00:00Z")
}

test_a_leap_second_is_read if {
	rfc3339.seconds("2016-12-31T23:59:60Z") == 1483228800
}

test_other_shapes_have_no_value if {
	not rfc3339.valid("yesterday")
	not rfc3339.valid("2025-01-01")
	not rfc3339.valid("2025-01-01T00:00:00")
	not rfc3339.valid("2025-01-01 00:00:00Z")
	not rfc3339.valid(1738368000)
	not rfc3339.valid(null)
	not rfc3339.seconds("2025-02-29T00:00:00Z")
}

# The builtin path (common timestamps) and the field-by-field path agree, at the edges of
# what the common pattern admits and in between.
_common := [
	"1971-01-01T00:00:00Z", "1999-12-31T23:59:59.999999999Z", "2000-03-01T00:00:00Z",
	"2024-11-02T20:00:00-05:00", "2025-01-01T00:00:00+23:59", "2025-04-30T12:34:56.5+05:30",
	"2025-12-31T23:59:59-23:59", "2100-02-28T00:00:00Z", "2259-12-31T23:59:59Z",
	"2026-07-31T08:00:00.123456789Z", "2026-06-30T00:00:00Z", "1971-01-01T00:00:00+23:59",
]

test_common_timestamps_take_the_builtin_and_agree_with_the_fields if {
	every t in _common {
		regex.match(rfc3339._common_pattern, t)
		rfc3339.seconds(t) == rfc3339.by_fields(t)
	}
}

_uncommon := [
	"1970-01-01T00:00:00Z", "2260-01-01T00:00:00Z", "2024-02-29T12:00:00Z",
	"2016-12-31T23:59:60Z", "2025-01-01t00:00:00z", "2025-01-01T00:00:00.1234567891Z",
	"0001-01-01T00:00:00Z", "2025-06-31T00:00:00Z", "2025-02-30T00:00:00Z",
]

test_other_timestamps_are_read_by_fields if {
	rfc3339.seconds("2025-01-01T00:00:00.1234567891Z") == 1735689600
	rfc3339.seconds("2260-01-01T00:00:00Z") == 9151488000
	every t in _uncommon {
		not regex.match(rfc3339._common_pattern, t)
	}
}
