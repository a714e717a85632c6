# METADATA
# title: RFC 3339 timestamps
# description: |
#   Reads RFC 3339 timestamps (YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)) into whole
#   seconds since the Unix epoch: one regular-expression match, then plain arithmetic,
#   and no builtin that can fail on what the match let through.
#   A string that is not a real date and time ("2025-13-45T10:00:00Z", "2025-02-29…")
#   has no value (seconds is undefined): time.parse_rfc3339_ns would raise an error, which
#   aborts the whole evaluation on regorus (which evaluates every rule of every policy
#   package, needed or not). Fractions of a second
#   are dropped. Years before 0001 are not read.
package gate.lib.rfc3339

# The fields of a timestamp in groups: year, month, day, hour, minute, second, and for
# a numeric zone its sign, hours and minutes (empty for "Z").
_pattern := concat("", [
	`^([0-9]{4})-([0-9]{2})-([0-9]{2})`,
	`[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?`,
	`(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))$`,
])

_leap(year) if {
	year % 4 == 0
	year % 100 != 0
}

_leap(year) if year % 400 == 0

_month_days := [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

_days_in_month(year, month) := 29 if {
	month == 2
	_leap(year)
} else := _month_days[month - 1]

_signs := {"+": 1, "-": -1}

# The zone's offset east of UTC, in seconds ("" is "Z"); undefined for an hour above 23
# or a minute above 59.
_offset("", _, _) := 0

_offset(sign, hours, minutes) := _signs[sign] * ((hours * 3600) + (minutes * 60)) if {
	sign != ""
	hours <= 23
	minutes <= 59
}

# Days from 1970-01-01 to a civil date (H. Hinnant's days_from_civil), for year >= 1:
# every division below is of a non-negative number. The year starts in March: shift is
# 1 for January and February (which count as months 10 and 11 of the year before), else 0.
_days(year, month, day) := ((era * 146097) + day_of_era) - 719468 if {
	shift := floor((14 - month) / 12)
	y := year - shift
	era := floor(y / 400)
	year_of_era := y - (era * 400)
	day_of_year := (floor(((153 * ((month + (12 * shift)) - 3)) + 2) / 5) + day) - 1
	day_of_era := (((year_of_era * 365) + floor(year_of_era / 4)) - floor(year_of_era / 100)) + day_of_year
}

# METADATA
# description: Whole seconds since 1970-01-01T00:00:00Z; undefined unless valid(t).
seconds(t) := ((_days(year, month, day) * 86400) + clock) - offset if {
	is_string(t)
	[[_, y, mo, d, h, mi, s, sign, oh, om]] := regex.find_all_string_submatch_n(_pattern, t, 1)

	# The digits read behind a "1", which is then taken off again (unit: 10000 for four
	# digits, 100 for two): to_number refuses leading zeros on regorus ("09"). They are
	# only ever digits, or "" for the offset of "Z" (read as -99 and never used).
	fields := [(to_number(concat("", ["1", digits])) - unit) |
		some [digits, unit] in [[y, 10000], [mo, 100], [d, 100], [h, 100], [mi, 100], [s, 100], [oh, 100], [om, 100]]
	]
	[year, month, day, hour, minute, second, offset_hours, offset_minutes] := fields
	year >= 1
	month >= 1
	month <= 12
	day >= 1
	day <= _days_in_month(year, month)
	hour <= 23
	minute <= 59
	second <= 60
	offset := _offset(sign, offset_hours, offset_minutes)
	clock := ((hour * 3600) + (minute * 60)) + second
}

# METADATA
# description: True when t is an RFC 3339 timestamp naming a real date and time.
valid(t) if is_number(seconds(t))
