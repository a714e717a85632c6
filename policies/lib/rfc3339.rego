# METADATA
# title: RFC 3339 timestamps
# description: |
#   Reads RFC 3339 timestamps (YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)) into whole
#   seconds since the Unix epoch, with plain arithmetic and no builtin that can fail.
#   A string that is not a real date and time ("2025-13-45T10:00:00Z", "2025-02-29…")
#   has no value (seconds is undefined): time.parse_rfc3339_ns would raise an error, which
#   aborts the whole evaluation on regorus, including the reference decision (regorus
#   evaluates every policy package for data.gate.policies[name]). Fractions of a second
#   are dropped. Years before 0001 are not read.
package gate.lib.rfc3339

_shape := `^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$`

# Two ASCII digits to a number, digit by digit: to_number refuses leading zeros on
# regorus, and a lookup table built per evaluation costs more than the whole policy.
_digit(c) := indexof("0123456789", c) if indexof("0123456789", c) >= 0

_number(t, start) := (_digit(substring(t, start, 1)) * 10) + _digit(substring(t, start + 1, 1))

_year(t) := (_number(t, 0) * 100) + _number(t, 2)

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

# The zone's offset east of UTC, in seconds.
_offset(t) := 0 if regex.match(`[Zz]$`, t)

_offset(t) := sign * ((_number(t, count(t) - 5) * 3600) + (_number(t, count(t) - 2) * 60)) if {
	not regex.match(`[Zz]$`, t)
	sign := {"+": 1, "-": -1}[substring(t, count(t) - 6, 1)]
}

_valid_zone(t) if regex.match(`[Zz]$`, t)

_valid_zone(t) if {
	_number(t, count(t) - 5) <= 23
	_number(t, count(t) - 2) <= 59
}

# Days from 1970-01-01 to a civil date (H. Hinnant's days_from_civil), for year >= 1:
# every division below is of a non-negative number.
_days(year, month, day) := ((era * 146097) + day_of_era) - 719468 if {
	y := _march_year(year, month)
	era := floor(y / 400)
	year_of_era := y - (era * 400)
	day_of_year := (floor(((153 * _march_month(month)) + 2) / 5) + day) - 1
	day_of_era := (((year_of_era * 365) + floor(year_of_era / 4)) - floor(year_of_era / 100)) + day_of_year
}

_march_year(year, month) := year - 1 if month <= 2

else := year

_march_month(month) := month - 3 if month > 2

else := month + 9

# METADATA
# description: True when t is an RFC 3339 timestamp naming a real date and time.
valid(t) if {
	is_string(t)
	regex.match(_shape, t)
	year := _year(t)
	year >= 1
	month := _number(t, 5)
	month >= 1
	month <= 12
	day := _number(t, 8)
	day >= 1
	day <= _days_in_month(year, month)
	_number(t, 11) <= 23
	_number(t, 14) <= 59
	_number(t, 17) <= 60
	_valid_zone(t)
}

# METADATA
# description: Whole seconds since 1970-01-01T00:00:00Z; undefined unless valid(t).
seconds(t) := ((days * 86400) + clock) - _offset(t) if {
	valid(t)
	days := _days(_year(t), _number(t, 5), _number(t, 8))
	clock := ((_number(t, 11) * 3600) + (_number(t, 14) * 60)) + _number(t, 17)
}
