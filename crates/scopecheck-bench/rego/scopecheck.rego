# The capture-event checks of scopecheck's built-in rules, written in Rego (run by regorus).
#
# input: one capture event, the JSONL line as written
#        {ts, program, subject, subject_kind, source, store, data}
# data.scope:    the declared scope (scope.yaml as JSON)
# data.taxonomy: category id -> sensitivity (scopecheck's taxonomy, 0..4)
#
# violations: a set of [rule, target kind, target] triples, the same (rule, target) pairs
# scopecheck's audit reports for the event, for these rules:
#   undisclosed-field     a leaf of `data` no `collect` entry covers
#   undisclosed-category  a declared field whose values are of a more sensitive category than
#                         declared (and not a sub-category of it), unless a `never` category
#   never-collect         a field under `never: - field:`, or a category (from the field's name
#                         or its values) under `never: - category:`
#   undeclared-subject    a `subject_kind` that `subjects:` does not list
#   outside-window        captured outside `windows.allow` or inside `windows.deny`, in the
#                         windows' time zone
# Value classification is the small set of detectors in this file (payment cards with the Luhn
# checksum, US SSNs, e-mail addresses, and chat, transcript and health text by its words); field
# names are classified by the name rules below. Patterns support literal keys, `*` and `[]`
# (not `**`).
package scopecheck

import rego.v1

# ---------------------------------------------------------------- leaves and their paths

# Every non-null scalar leaf of input.data: [normalized path, value].
leaves contains [path_text(p), v] if {
	walk(input.data, [p, v])
	count(p) > 0
	not is_object(v)
	not is_array(v)
	not is_null(v)
}

paths contains p if some [p, _] in leaves

# ["a", "b", 0, "c"] -> "a.b[].c"
path_text(p) := concat("", [piece(i, k) | some i, k in p])

piece(0, k) := k

piece(i, k) := concat("", [".", k]) if {
	i > 0
	is_string(k)
}

piece(_, k) := "[]" if is_number(k)

# Pattern and path as plain keys: `[]` dropped (a key also covers its array items).
keys(s) := split(replace(replace(s, "[*]", ""), "[]", ""), ".")

# A pattern covers a path and the subtree under what it names.
covers(pattern, path) if {
	ps := keys(pattern)
	qs := keys(path)
	count(ps) <= count(qs)
	every i, seg in ps {
		seg_matches(seg, qs[i])
	}
}

seg_matches(seg, _) if seg == "*"

seg_matches(seg, key) if seg == key

specificity(pattern) := sum([s |
	some seg in split(pattern, ".")
	s := seg_weight(seg)
])

seg_weight(seg) := 2 if startswith(seg, "*")

seg_weight(seg) := 5 if {
	not startswith(seg, "*")
	endswith(seg, "]")
}

seg_weight(seg) := 4 if {
	not startswith(seg, "*")
	not endswith(seg, "]")
}

# The most specific `collect` entry covering the path (the first of equals).
declaration(path) := d if {
	cands := [[specificity(c.field), i] | some i, c in data.scope.collect; covers(c.field, path)]
	best := max([s | some [s, _] in cands])
	firsts := [i | some [s, i] in cands; s == best]
	d := data.scope.collect[min(firsts)]
}

# Each path's declaration, computed once per event.
decl_of[p] := declaration(p) if some p in paths

declared(path) if decl_of[path]

# ---------------------------------------------------------------- categories

never_categories contains n.category if {
	some n in object.get(data.scope, "never", [])
	is_string(n.category)
}

never_fields contains n.field if {
	some n in object.get(data.scope, "never", [])
	is_string(n.field)
}

within(c, ancestor) if c == ancestor

within(c, ancestor) if startswith(c, concat("", [ancestor, "."]))

in_never(c) if {
	some n in never_categories
	within(c, n)
}

sensitivity(c) := object.get(data.taxonomy, c, 0)

# The last key of a path, words split at `_`, `-` and camel case, lower case.
leaf_words(path) := lower(regex.replace(regex.replace(k, `([a-z])([A-Z])`, "$1 $2"), `[_\-]+`, " ")) if {
	ks := keys(path)
	k := ks[count(ks) - 1]
}

parent_words(path) := lower(concat(" ", array.slice(keys(path), 0, count(keys(path)) - 1)))

# Name rules (the subset of scopecheck's that the generated captures meet), for undeclared
# fields: the last key's words, and optionally the parent keys.
name_rules := [
	{"category": "content.chat", "leaf": `^(text|body|message|content)$`, "parent": `\b(chat|chats|messages?|dms?|conversation)\b`},
	{"category": "content.transcript", "leaf": `\b(transcripts?|transcription|captions?)\b`, "parent": ""},
	{"category": "content.document", "leaf": `\b(ocr ?text|screen ?text)\b`, "parent": ""},
	{"category": "credentials.password", "leaf": `\b(password|passwd|pwd|passphrase)\b`, "parent": ""},
]

parent_ok(r, _) if r.parent == ""

parent_ok(r, path) if {
	r.parent != ""
	regex.match(r.parent, parent_words(path))
}

# Value detectors: a pattern that must match somewhere in a string value.
value_rules := [
	{"category": "government_id.us_ssn", "pattern": `\b[0-8][0-9]{2}-[0-9]{2}-[0-9]{4}\b`},
	{"category": "contact.email", "pattern": `\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b`},
	{"category": "health.diagnosis", "pattern": `(?i)\b(diagnos[ie]s|icd-?10|hypertension|diabetes|asthma|prescribed|medication)\b`},
]

# Payment cards: a run of 13 to 19 digits (grouped or not) that passes the Luhn checksum.
card_pattern := `\b[0-9]{12,19}\b|\b[0-9]{4}(?:[ \-][0-9]{4}){2}[ \-][0-9]{1,4}(?:[ \-][0-9]{1,3})?\b|\b[0-9]{4}[ \-][0-9]{6}[ \-][0-9]{4,5}\b`

luhn(digits) if {
	n := count(digits)
	n >= 13
	n <= 19
	ds := [to_number(c) | some c in split(digits, "")]
	total := sum([luhn_digit(d, (n - 1) - i) | some i, d in ds])
	total % 10 == 0
}

luhn_digit(d, pos) := d if pos % 2 == 0

luhn_digit(d, pos) := d * 2 if {
	pos % 2 == 1
	d * 2 <= 9
}

luhn_digit(d, pos) := (d * 2) - 9 if {
	pos % 2 == 1
	d * 2 > 9
}

# [path, category, from the value]
field_categories contains [p, d.category, false] if some p, d in decl_of

field_categories contains [p, r.category, false] if {
	some p in paths
	not declared(p)
	some r in name_rules
	regex.match(r.leaf, leaf_words(p))
	parent_ok(r, p)
}

field_categories contains [p, r.category, true] if {
	some [p, v] in leaves
	is_string(v)
	some r in value_rules
	regex.match(r.pattern, v)
}

field_categories contains [p, "financial.payment_card", true] if {
	some [p, v] in leaves
	is_string(v)
	some cand in regex.find_n(card_pattern, v, -1)
	luhn(regex.replace(cand, `[^0-9]`, ""))
}

# ---------------------------------------------------------------- the rules

violations contains ["undisclosed-field", "field", p] if {
	some p in paths
	not declared(p)
}

violations contains ["never-collect", "field", p] if {
	some p in paths
	some f in never_fields
	covers(f, p)
}

violations contains ["never-collect", "field", p] if {
	some [p, c, _] in field_categories
	in_never(c)
}

violations contains ["undisclosed-category", "field", p] if {
	some [p, c, true] in field_categories
	d := decl_of[p]
	not within(c, d.category)
	sensitivity(c) > sensitivity(d.category)
	not in_never(c)
}

violations contains ["undeclared-subject", "subject_kind", k] if {
	k := input.subject_kind
	is_string(k)
	count(object.get(data.scope, "subjects", [])) > 0
	not k in data.scope.subjects
}

violations contains ["outside-window", "source", object.get(input, "source", "")] if {
	is_object(data.scope.windows)
	not in_window
}

# ---------------------------------------------------------------- windows

ns := time.parse_rfc3339_ns(input.ts)

tz := data.scope.windows.timezone

weekday := day_of(time.weekday([ns, tz]))

minute := (c[0] * 60) + c[1] if c := time.clock([ns, tz])

in_window if {
	allowed
	not denied
}

allowed if count(object.get(data.scope.windows, "allow", [])) == 0

allowed if {
	some w in data.scope.windows.allow
	window_contains(w)
}

denied if {
	some w in object.get(data.scope.windows, "deny", [])
	window_contains(w)
}

day_index := {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

day_of(s) := day_index[lower(substring(trim_space(s), 0, 3))]

# "Mon-Fri 08:00-18:00", "12:00-13:00", "Sat,Sun"
window_contains(w) if {
	[days, times] := split(trim_space(w), " ")
	days_match(days)
	times_match(times)
}

window_contains(w) if {
	not contains(trim_space(w), " ")
	contains(w, ":")
	times_match(trim_space(w))
}

window_contains(w) if {
	not contains(trim_space(w), " ")
	not contains(w, ":")
	days_match(trim_space(w))
}

days_match(spec) if {
	some item in split(spec, ",")
	day_item_matches(item)
}

day_item_matches(item) if {
	not contains(item, "-")
	day_of(item) == weekday
}

day_item_matches(item) if {
	[a, b] := split(item, "-")
	s := day_of(a)
	e := day_of(b)
	(((weekday - s) % 7) + 7) % 7 <= (((e - s) % 7) + 7) % 7
}

# "08:30" -> 510 (to_number rejects a leading zero: "108" - 100)
clock_minutes(t) := (two_digits(h) * 60) + two_digits(m) if [h, m] := split(trim_space(t), ":")

two_digits(s) := to_number(concat("", ["1", s])) - 100 if count(s) == 2

two_digits(s) := to_number(s) if count(s) == 1

times_match(r) if {
	[a, b] := split(r, "-")
	s := clock_minutes(a)
	e := clock_minutes(b)
	s < e
	minute >= s
	minute < e
}

times_match(r) if {
	[a, b] := split(r, "-")
	s := clock_minutes(a)
	e := clock_minutes(b)
	s > e
	wrapped(s, e)
}

wrapped(s, _) if minute >= s

wrapped(_, e) if minute < e
