# METADATA
# title: image users as the runtime reads them
# description: |
#   How a container runtime reads an image config's User ("user[:group]"), so that a
#   policy judges the user the container will really run as. What runc (moby/sys/user
#   GetExecUser), containerd (pkg/oci WithUser) and the kubelet (CRI image uid,
#   verifyRunAsNonRoot) do:
#   - the text is split at ":"; the part before the first ":" is the user, the next one
#     the group (containerd refuses more than two parts; runc ignores the rest);
#   - a part that Go's strconv.Atoi accepts (an optional "+" or "-", then decimal
#     digits only: no spaces, no "0x", no "_") is a numeric id: "+0", "-0", "00" are 0;
#     anything else is a name looked up in the image's /etc/passwd (or /etc/group);
#   - ids must lie in 0..2147483647: current runtimes refuse anything else; older
#     containerd converted with uint32(n), so n wrapped modulo 2^32 (4294967296 ran as
#     uid 0), and some versions looked an out-of-range id up as a name, which the
#     image's own /etc/passwd can map to uid 0;
#   - an empty user (User "" or ":group") runs as uid 0.
#   kind(user) sorts a User into one of:
#   - "root": uid 0 in every spelling ("", "root", "0", "+0", "-0", "000", ":1000",
#     "0:<group>", "root:<group>");
#   - "wraps": a number outside the id range that is 0 modulo 2^32 (4294967296,
#     -4294967296): refused today, run as uid 0 by runtimes without the range check;
#   - "invalid": a uid or gid outside 0..2147483647 that does not wrap to uid 0, or
#     more than one ":": refused by current runtimes, misread by older ones;
#   - "numeric": a uid in 1..2147483647, with a group name or an in-range gid;
#   - "named": any other user, a name the image's /etc/passwd resolves.
package gate.lib.users

# The largest id a runtime accepts (math.MaxInt32), and what strconv.Atoi accepts on a
# 64-bit host for a positive and a negative number, each without sign or leading zeros.
_max_id := "2147483647"

_max_int64 := "9223372036854775807"

_min_int64 := "9223372036854775808"

# METADATA
# scope: document
# description: |
#   True for the common User that needs no more reading: a uid in 1..999999999 without
#   sign or leading zeros ("65532"), alone or with a gid of at most nine digits
#   ("65532:65532"). kind(user) is "numeric" for each of them.
plain(user) if {
	not contains(user, ":")
	_plain_uid(user)
}

plain(user) if {
	[uid, gid] := split(user, ":")
	_plain_uid(uid)
	_digits(gid)
}

_plain_uid(uid) if {
	not startswith(uid, "0")
	_digits(uid)
}

_digits(text) if {
	text != ""
	count(text) <= 9
	trim_left(text, "0123456789") == ""
}

# METADATA
# description: A platform's configured user (its config's User), "" when it names none.
config_user(platform) := platform.config.user if is_string(platform.config.user)

else := ""

# METADATA
# description: What the runtime makes of a User (see the package description).
kind(user) := _kind(parts[0], uid, _problem(parts, uid)) if {
	is_string(user)
	parts := split(user, ":")
	uid := _id_kind(parts[0])
}

# METADATA
# description: |
#   Why a User of kind "invalid" is invalid, as a phrase for messages ("uid -1 is
#   outside 0..2147483647"); "" for a User of any other kind.
problem(user) := _problem(parts, _id_kind(parts[0])) if {
	kind(user) == "invalid"
	parts := split(user, ":")
} else := ""

_kind(name, uid, invalid) := "root" if {
	name in {"", "root"}
} else := "root" if {
	uid == "zero"
} else := "wraps" if {
	uid == "wraps"
} else := "invalid" if {
	invalid != ""
} else := "numeric" if {
	uid == "valid"
} else := "named"

_problem(parts, uid) := "more than one ':' (expected user[:group])" if {
	count(parts) > 2
} else := sprintf("uid %s is outside 0..%s", [parts[0], _max_id]) if {
	uid == "range"
} else := sprintf("gid %s is outside 0..%s", [parts[1], _max_id]) if {
	_group_kind(parts) in {"range", "wraps"}
} else := ""

default _group_kind(_) := "none"

_group_kind(parts) := _id_kind(parts[1]) if count(parts) > 1

# What one id part is: "name" (not a number for strconv.Atoi), "zero", "valid"
# (1..2147483647), "wraps" (outside the range, 0 modulo 2^32) or "range" (any other
# number). Digit strings are compared as strings, never converted whole: to_number
# fails on leading zeros in regorus, and a 19-digit id is beyond a float's precision.
_id_kind(part) := "name" if {
	not regex.match(`^[+-]?[0-9]+$`, part)
} else := "zero" if {
	_magnitude(part) == ""
} else := "valid" if {
	not startswith(part, "-")
	_at_most(_magnitude(part), _max_id)
} else := "wraps" if {
	_at_most(_magnitude(part), _int64_limit(part))
	_wraps_to_zero(_magnitude(part))
} else := "range"

# The digits of a number without its sign and leading zeros ("" for zero).
_magnitude(part) := trim_left(trim_left(part, "+-"), "0")

_int64_limit(part) := _min_int64 if startswith(part, "-")

else := _max_int64

# Whether the digit string a (no leading zeros) is at most limit (no leading zeros).
_at_most(a, limit) if count(a) < count(limit)

_at_most(a, limit) if {
	count(a) == count(limit)
	a <= limit
}

# Whether a number of at most 19 digits is 0 modulo 2^32. It is read as four groups of
# five digits, n = a*10^15 + b*10^10 + c*10^5 + d, each product reduced modulo 2^32
# (10^15 mod 2^32 = 2764472320, 10^10 mod 2^32 = 1410065408), so that no intermediate
# value leaves the range a float represents exactly.
_wraps_to_zero(digits) if {
	padded := concat("", [substring("00000000000000000000", 0, 20 - count(digits)), digits])
	a := _five(padded, 0)
	b := _five(padded, 5)
	c := _five(padded, 10)
	d := _five(padded, 15)
	total := (((a * 2764472320) % 4294967296) + ((b * 1410065408) % 4294967296)) + (c * 100000)
	(total + d) % 4294967296 == 0
}

# The five digits of padded at offset as a number, read behind a leading 1 (to_number
# refuses leading zeros on regorus).
_five(padded, offset) := to_number(concat("", ["1", substring(padded, offset, 5)])) - 100000
