# METADATA
# title: RFC 3339 timestamps
# description: |
#   Reads RFC 3339 timestamps (YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)) into whole
#   seconds since the Unix epoch. A string that is not a real date and time
#   ("2025-13-45T10:00:00Z", "2025-02-29…") has no value (seconds is undefined):
#   time.parse_rfc3339_ns alone would raise an error, which aborts the whole evaluation on
#   regorus (which evaluates every rule of every policy package, needed or not). Fractions
#   of a second are dropped. Years before 0001 are not read.
#
#   The common case, a real date of 1971 to 2259 in upper case without a leap second, is
#   one regular-expression match that admits only real dates, then the builtin (which OPA
#   and regorus read alike there, its nanoseconds within 64 bits). Every other string is
#   read field by field: one match, one number, then integer arithmetic, and no builtin
#   that can fail on what the match let through (ten times the cost on regorus).
package gate.lib.rfc3339

# Real dates and times of 1971-01-01 to 2259-12-31 (no February 29: the leap-year rule
# is left to the arithmetic), at most nine fraction digits, upper-case T and Z.
_common_pattern := concat("", [
	`^(?:19(?:7[1-9]|[89][0-9])|2(?:[01][0-9]{2}|2[0-5][0-9]))-`,
	`(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)`,
	`T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?`,
	`(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$`,
])

# METADATA
# description: Whole seconds since 1970-01-01T00:00:00Z; undefined unless valid(t).
seconds(t) := (ns - (ns % 1000000000)) / 1000000000 if {
	is_string(t)
	regex.match(_common_pattern, t)
	ns := time.parse_rfc3339_ns(t) # positive: the match admits no year before 1971
} else := by_fields(t)

# The date and time digits in groups (year, month, day, hour, minute, second), and for a
# numeric zone its sign, hours and minutes (empty for "Z").
_pattern := concat("", [
	`^([0-9]{4})-([0-9]{2})-([0-9]{2})`,
	`[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?`,
	`(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))$`,
])

# METADATA
# description: seconds(t) read field by field, for every timestamp (the tests check both ways agree).
by_fields(t) := ((_days(year, month, day) * 86400) + clock) - _offset(sign, offset_hours, offset_minutes) if {
	is_string(t)
	[[_, y, mo, d, h, mi, s, sign, offset_hours, offset_minutes]] := regex.find_all_string_submatch_n(_pattern, t, 1)

	# Every digit read as one number behind a "1" (to_number refuses leading zeros on
	# regorus: "09"), 1YYYYMMDDhhmmss, then taken apart with exact integer arithmetic:
	# one builtin call instead of one per field.
	n := to_number(concat("", ["1", y, mo, d, h, mi, s]))
	second := n % 100
	minute := ((n - second) / 100) % 100
	hours := (n - (n % 10000)) / 10000
	hour := hours % 100
	days := (hours - hour) / 100
	day := days % 100
	months := (days - day) / 100
	month := months % 100
	year := ((months - month) / 100) - 10000
	year >= 1
	month >= 1
	month <= 12
	day >= 1
	_day_exists(year, month, day)
	hour <= 23
	minute <= 59
	second <= 60
	clock := ((hour * 3600) + (minute * 60)) + second
}

# Days 1 to 28 exist in every month; the others are looked up.
_day_exists(_, _, day) if day <= 28

_day_exists(year, month, day) if {
	day > 28
	day <= _days_in_month(year, month)
}

_leap(year) if {
	year % 4 == 0
	year % 100 != 0
}

_leap(year) if year % 400 == 0

_days_in_month(year, month) := 29 if {
	month == 2
	_leap(year)
} else := days[month - 1] if {
	days := [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
}

# The zone's offset east of UTC, in seconds ("" is "Z"); undefined for an hour above 23
# or a minute above 59. The digits are read behind a "1", as above.
_offset("", _, _) := 0

_offset("+", hours, minutes) := _zone(hours, minutes)

_offset("-", hours, minutes) := 0 - _zone(hours, minutes)

_zone(hours, minutes) := (hour * 3600) + (minute * 60) if {
	n := to_number(concat("", ["1", hours, minutes])) - 10000
	minute := n % 100
	hour := (n - minute) / 100
	hour <= 23
	minute <= 59
}

# Days from 1970-01-01 to a civil date (H. Hinnant's days_from_civil), for year >= 1.
# Every quantity is a non-negative integer, so floor(a / b) is (a - a % b) / b: exact
# arithmetic, and no builtin call. The year starts in March: shift is 1 for January and
# February (which count as months 10 and 11 of the year before), else 0.
_days(year, month, day) := ((era * 146097) + day_of_era) - 719468 if {
	shift := _shift(month)
	y := year - shift
	era := (y - (y % 400)) / 400
	year_of_era := y - (era * 400)
	m := (153 * ((month + (12 * shift)) - 3)) + 2
	day_of_year := (((m - (m % 5)) / 5) + day) - 1
	leap_days := ((year_of_era - (year_of_era % 4)) / 4) - ((year_of_era - (year_of_era % 100)) / 100)
	day_of_era := ((year_of_era * 365) + leap_days) + day_of_year
}

_shift(month) := 1 if month <= 2

else := 0

# METADATA
# description: True when t is an RFC 3339 timestamp naming a real date and time.
valid(t) if is_number(seconds(t))
