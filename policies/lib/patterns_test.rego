package gate.lib.patterns_test

import data.gate.lib.patterns

test_star_matches_within_one_segment if {
	patterns.match("docker.io/library/*", "docker.io/library/nginx")
	not patterns.match("docker.io/library/*", "docker.io/library/a/b")
	patterns.match("*-docker.pkg.dev/p/r/i", "us-docker.pkg.dev/p/r/i")
	patterns.match("a/b*", "a/b")
	patterns.match("a/*/c", "a//c")
}

test_double_star_matches_any_depth if {
	patterns.match("*-docker.pkg.dev/**", "europe-west1-docker.pkg.dev/project/repo/image")
	patterns.match("**", "a/b")
	patterns.match("a/**/b", "a/x/y/b")
	patterns.match("a**", "ab/c")
	patterns.match("a/***", "a/b/c")
}

test_whole_name_must_match if {
	not patterns.match("gcr.io/p/**", "gcr.io/p")
	not patterns.match("a/**", "a")
	not patterns.match("a/**/b", "a/b")
	not patterns.match("**/a", "a")
	not patterns.match("*", "a/b")
	not patterns.match("gcr.io/p", "gcr.io/p/q")
	not patterns.match("gcr.io/p", "x/gcr.io/p")
}

test_host_lookalikes_do_not_match if {
	not patterns.match("*-docker.pkg.dev/**", "us-docker.pkg.dev.evil.example/x")
	not patterns.match("*-docker.pkg.dev/**", "evil.example/us-docker.pkg.dev/x")
	not patterns.match("*.gcr.io/**", "gcr.io/x")
	patterns.match("*.gcr.io/**", "eu.gcr.io/p/i")
	patterns.match("localhost:5000/**", "localhost:5000/x")
}

test_regex_characters_are_literal if {
	not patterns.match("a.b/c", "axb/c")
	patterns.match("a+(b)/[x]|^$\\{1}?", "a+(b)/[x]|^$\\{1}?")
	not patterns.match("a+/b", "aa/b")
}

test_regex_of if {
	patterns.regex_of("*.gcr.io/**") == `(?s)^[^/]*\.gcr\.io/.*$`
	patterns.regex_of("***") == `(?s)^.*[^/]*$`
	patterns.regex_of(`a.b+c?d(e)f[g]h{i}j|k^l$m\n-o:5/*`) == `(?s)^a\.b\+c\?d\(e\)f\[g\]h\{i\}j\|k\^l\$m\\n-o:5/[^/]*$`
}

test_non_strings_never_match if {
	not patterns.match(null, "a/b")
	not patterns.match("**", null)
	not patterns.match(["**"], "a/b")
}

test_match_any if {
	patterns.match_any(["example.org/none", "gcr.io/p/**"], "gcr.io/p/i")
	not patterns.match_any(["example.org/none", "gcr.io/q/**"], "gcr.io/p/i")
	not patterns.match_any([], "gcr.io/p/i")
}
