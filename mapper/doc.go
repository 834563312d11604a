// Package mapper turns a source record into the PingOne user syncd wants
// (Desired), or into a Reject with a reason a person can act on. It compiles
// the job's mapping schema once, at config load, and does no I/O: a broken
// mapping fails at start, not at 03:00.
//
// # Configuration
//
// A job's mapping block (Config) reads:
//
//	mapping:                      # PingOne attribute path -> expression
//	  username: lower(uid)        # required
//	  email: mail                 # required: PingOne needs it to create a user
//	  name.given: givenName
//	  name.family: sn
//	  costCenter: attr("x-cost-center")
//	custom_attributes: [costCenter]   # custom PingOne attributes the mapping may set
//	scope: '"inetOrgPerson" in values("objectClass")'   # optional; default: every record
//	population:                   # a name or UUID, or rules: first match wins
//	  - when: dnValue(dn, "ou") == "Contractors"
//	    population: Contractors
//	  - population: Employees     # the last rule may omit when
//	enabled: pwdAccountLockedTime == ""                  # optional; default: true
//
// Mapping keys are the PingOne user attribute paths syncd manages: username,
// email, name.given, name.family, name.formatted, name.middle,
// name.honorificPrefix, name.honorificSuffix, nickname, title,
// preferredLanguage, locale, timezone, primaryPhone, mobilePhone, photo.href,
// address.streetAddress, address.locality, address.region,
// address.postalCode, address.countryCode, type, accountId, externalId, and
// the declared custom attributes (a letter, then letters, digits or hyphens).
// Keys are case-sensitive, as in PingOne. enabled and population have their
// own keys; read-only and sub-resource attributes (id, password,
// memberOfGroupIDs, ...) cannot be mapped. externalId defaults to the
// record's anchor (DESIGN invariant 3); map it only to override that.
//
// Compile reports every problem at once, each at its path relative to the
// job (internal/fielderr): "mapping.name.giv: unknown PingOne attribute",
// "scope: in \"mail\": expected bool, but got string", "population[1].when: ...".
//
// # Expressions
//
// Expressions use the expr language (github.com/expr-lang/expr). In them:
//
//   - A source attribute is read by its name, in any case: mail, givenName,
//     userAccountControl. The value is the attribute's first value, "" when
//     the record lacks it. A plain attribute name is a whole expression.
//   - attr("x-foo") reads an attribute whose name is not an identifier
//     (hyphens) or clashes with a name below; values("member") gives all of
//     an attribute's values as a list ([] when absent).
//   - anchor and dn are the record's anchor and DN ("" for CSV). They are
//     reserved: an attribute named dn is read with attr("dn").
//   - let x = ...; binds a variable, which shadows attributes of that name.
//
// Mapping expressions produce a string (nil counts as empty); scope, when
// and enabled produce true or false. A wrong type is a compile error when it
// is visible at compile time, else a reject of the record. An expression
// that fails for one record (a number that is not one, a DN that does not
// parse) rejects that record, quoting the expression and the error; the run
// goes on.
//
// syncd's functions:
//
//	attr(name)                  first value of a source attribute (name in any case), "" when absent
//	values(name)                all values of a source attribute, [] when absent (shadows expr's map values())
//	coalesce(a, b, ...)         the first non-empty argument, "" when all are empty
//	default(v, fallback)        v unless it is empty, else fallback
//	substring(s, start, length) length characters (runes, not bytes) from start (0-based); bounds are clamped
//	regexReplace(s, pattern, repl)
//	                            RE2 replace-all; repl may use $1 and ${name}; a literal pattern is
//	                            checked at config load and every pattern is compiled once per job
//	removeDiacritics(s)         strips combining marks: "Zoë Ångström" -> "Zoe Angstrom"; letters
//	                            without a decomposition stay (ø, ß, ł, æ): use replace() for those
//	normalizePhone(s)           removes spaces, dots, hyphens, slashes and parentheses, keeping a leading +
//	e164(s, countryCode)        "+<digits>": keeps +..., turns 00... into +..., else prefixes the
//	                            country code and drops a national trunk 0 (kept for Italy, 39);
//	                            "" for ""; fails for anything that is not 7 to 15 digits
//	normalizeEmail(s)           trims spaces and lower-cases the domain (the local part keeps its case)
//	dnValue(dn, type)           value of the first (leftmost) RDN attribute of that type: dnValue(dn, "ou")
//	dnValues(dn, type)          all values of that type in the DN, leftmost first: join(dnValues(dn, "dc"), ".")
//	rdnValue(dn)                value of the entry's own RDN: "Jane Doe" for cn=Jane Doe,ou=People,...
//	parentDN(dn)                the DN without its first RDN
//	adDisabled(uac)             true when userAccountControl has ACCOUNTDISABLE (0x2) set; fails when
//	                            uac is not a number (the attribute was not read)
//	adEnabled(uac)              the opposite of adDisabled
//	date(value, layout)         value as an ISO date ("2026-12-24"), "" for ""; layout: DD/MM/YYYY,
//	                            MM/DD/YYYY, DD.MM.YYYY, YYYYMMDD, D/M/YY (any separators), iso,
//	                            rfc3339, generalized (LDAP), excel (serial), filetime (AD accountExpires)
//	today()                     the current date, ISO, from the job's clock (Mapper WithClock)
//	daysUntil(d)                days from today to the ISO date d, negative once passed; fails on ""
//	daysSince(d)                days from the ISO date d to today, negative before it; fails on ""
//
// A mapping that calls today, daysUntil or daysSince depends on the date:
// the engine reads the source completely on the first run of each day, so
// that a start date arriving or an end date passing applies on that day
// even when the source did not change (Mapper.UsesClock).
//
// expr's own builtins are kept with their meaning: lower, upper, trim(s) (white
// space) and trim(s, cutset), split(s, sep), join(list, sep), replace(s, old,
// new) (all occurrences), hasPrefix, hasSuffix, indexOf, len, first, last,
// filter, map, any, all, string, int, and the operators ==, !=, in, not in,
// matches (regular expression), contains, startsWith, endsWith, ?:, ??, and,
// or, not. values is the one builtin syncd replaces. Avoid now() in
// mappings (use today()): a value that changes each run changes the hash and
// updates the user every run.
//
// # Output
//
// Map returns one Result per record: Mapped with a Desired, OutOfScope, or
// Rejected with a Reject. Desired.Attributes holds each mapped value in
// Unicode NFC (the only change the mapper makes on its own: trimming and
// case are the expressions' business); an empty value is left out, which
// the engine turns into a null when PingOne had one. Desired.Hash is a
// SHA-256 (unpadded base64url) of the attributes in sorted key order, the
// population and the enabled flag: equal hashes mean nothing to update.
//
// Every value is checked against PingOne's documented constraints
// (reference/pingone/API-NOTES.md §4), as strict as PingOne and no
// stricter, so a bad value is reported with the record rather than
// refused by PingOne mid-run:
//
//	username                    G, 1..128                  G = letters, marks, numbers, symbols,
//	name.given, name.middle,    G, 1..256                      punctuation, space separators: no
//	nickname, title, type,                                     control or format characters (tab,
//	address.locality/region                                    newline, zero-width joiner)
//	name.family, name.formatted N, 1..256                  N = letters, marks, numbers, ASCII
//	                                                           apostrophe, space, dot, hyphen
//	                                                           (’ is refused: replace(x, "’", "'"))
//	email                       RFC 5322 addr-spec, bare (no display name, no <>), ASCII only (PingOne checks RFC 2822; removeDiacritics helps)
//	address.streetAddress       letters, marks, numbers, punctuation, spaces, line breaks; 1..256
//	address.postalCode          G, 1..40
//	address.countryCode         two upper-case letters A-Z
//	timezone                    ^\w+/\w+$ as PingOne documents it (refuses UTC and three-part names)
//	primaryPhone, mobilePhone   1..32 with at least one digit
//	locale                      an RFC 5646 language tag (en-US, es-419), G, 1..256
//	preferredLanguage           an Accept-Language value (en-GB;q=0.8, en;q=0.7)
//	photo.href                  an http or https URL
//	externalId                  1..1024
//	honorifics, accountId,      at most 16 KB (PingOne documents no limit; a profile is at most 16 KB)
//	custom attributes
//
// Lengths count Unicode code points (runes) after NFC. Invalid UTF-8 is
// refused everywhere. A record with several problems is rejected once: the
// Reject names the first attribute and its reason lists all of them.
//
// Across records, CheckConflicts (and MapAll, which calls it) rejects every
// record of a group sharing an anchor, or claiming one username compared
// case-insensitively, naming the others: syncd cannot tell which is right.
//
// Records a source could not read (Record.Reject) become Rejects carrying
// the source's reason. Deleted records (delta reads) are not mapped: the
// engine handles deletions by anchor; Map rejects one passed by mistake and
// MapAll skips them.
//
// # Performance
//
// A Mapper is safe for concurrent use: per-evaluation state (expr VM,
// environment, hash buffer) comes from a sync.Pool, and expressions read the
// record through hidden functions, so no map is built per record. Plain
// attributes, a string function of one attribute (lower(uid)),
// coalesce/default of attributes and `"x" in values("a")` are evaluated
// natively without the VM; per record, the mapper allocates its output (the
// attribute map and the hash string) plus whatever VM-evaluated expressions
// allocate. SourceAttributes lists the attributes the expressions read, so
// an LDAP source requests only those.
package mapper
