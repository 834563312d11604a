package mapper

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The PingOne constraints below follow reference/pingone/API-NOTES.md §4
// (the SPEC User schema). They are as strict as PingOne and no stricter:
// a value that passes here is one PingOne documents as acceptable, and a
// value that fails would be refused by PingOne with 400 INVALID_DATA. Where
// the notes mark a limit as unknown, the mapper applies only the 16 KB user
// profile bound (maxUnknown).
//
// Lengths are counted in Unicode code points (runes), like JSON Schema's
// maxLength; whether PingOne counts UTF-16 units instead (an emoji would
// count 2) is not documented.

// maxUnknown bounds attributes whose length limit PingOne does not document
// (honorific prefix/suffix, accountId, custom attributes): a user profile is
// at most 16 KB, so a longer value can never be stored.
const maxUnknown = 16 * 1024

// checkFunc reports what is wrong with a non-empty, NFC-normalised value,
// or "" when it is acceptable.
type checkFunc func(v string) string

// isG reports whether r is in the generic pattern G of API-NOTES §4:
// [\p{L}\p{M}\p{Zs}\p{S}\p{N}\p{P}].
func isG(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 0x20 && r < 0x7f // printable ASCII: letters, digits, space, punctuation, symbols
	}
	return unicode.In(r, unicode.L, unicode.M, unicode.Zs, unicode.S, unicode.N, unicode.P)
}

// isN reports whether r is in the name pattern N: [\p{L}\p{M}\p{N}' .-].
func isN(r rune) bool {
	switch r {
	case '\'', ' ', '.', '-':
		return true
	}
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	return unicode.In(r, unicode.L, unicode.M, unicode.N)
}

// isStreet reports whether r is in the street address pattern:
// [\p{L}\p{M}\p{N}\p{Zs}\p{P}\n\r].
func isStreet(r rune) bool {
	switch r {
	case '\n', '\r':
		return true
	}
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.Zs, unicode.P)
}

// describeRune names a rune for a message: `"’" (U+2019)`.
func describeRune(r rune) string {
	if unicode.IsPrint(r) {
		return fmt.Sprintf("%q (%U)", string(r), r)
	}
	return fmt.Sprintf("%U", r)
}

// runeHints suggests a fix for characters directory data often carries
// that PingOne's name pattern refuses.
func runeHint(r rune) string {
	switch r {
	case '’', '‘', 'ʼ', '´', '`':
		return `; map it with replace(x, "` + string(r) + `", "'")`
	case '\t':
		return "; trim or replace tabs"
	case '_':
		return ""
	}
	return ""
}

// patternLen returns a check for a character class and a length range.
func patternLen(class func(rune) bool, what string, minLen, maxLen int) checkFunc {
	return func(v string) string {
		n := 0
		for _, r := range v {
			n++
			if !class(r) {
				return fmt.Sprintf("contains %s, which PingOne does not allow in %s%s", describeRune(r), what, runeHint(r))
			}
		}
		return lengthProblem(n, minLen, maxLen)
	}
}

func lengthProblem(n, minLen, maxLen int) string {
	if n < minLen {
		return fmt.Sprintf("is %d characters long; PingOne requires at least %d", n, minLen)
	}
	if maxLen > 0 && n > maxLen {
		return fmt.Sprintf("is %d characters long; PingOne allows at most %d", n, maxLen)
	}
	return ""
}

// lengthOnly returns a check for a length range in runes.
func lengthOnly(minLen, maxLen int) checkFunc {
	return func(v string) string {
		return lengthProblem(utf8.RuneCountInString(v), minLen, maxLen)
	}
}

// checkG is pattern G with a length range.
func checkG(minLen, maxLen int) checkFunc {
	return patternLen(isG, "this attribute (letters, marks, numbers, symbols, punctuation and spaces only)", minLen, maxLen)
}

// checkN is pattern N with a length range.
func checkN(minLen, maxLen int) checkFunc {
	return patternLen(isN, "names (letters, marks, numbers, apostrophe ', space, dot and hyphen only)", minLen, maxLen)
}

func checkStreet(v string) string {
	return patternLen(isStreet, "a street address (letters, marks, numbers, punctuation, spaces and line breaks only)", 1, 256)(v)
}

func checkCountryCode(v string) string {
	if len(v) == 2 && v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z' {
		return ""
	}
	if len(v) == 2 && strings.ToUpper(v) != v {
		return "is not an ISO 3166-1 alpha-2 code in upper case; map it with upper(...)"
	}
	return "is not an ISO 3166-1 alpha-2 country code (two letters A-Z)"
}

// checkTimezone applies the SPEC's regex ^\w+\/\w+$ (ASCII \w), which
// refuses "UTC" and three-part names such as America/Argentina/Buenos_Aires.
func checkTimezone(v string) string {
	slash := strings.IndexByte(v, '/')
	if slash > 0 && slash < len(v)-1 && isWord(v[:slash]) && isWord(v[slash+1:]) {
		return ""
	}
	return `is not an IANA time zone PingOne accepts (pattern ^\w+/\w+$, e.g. "Europe/Paris")`
}

func isWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// checkPhone: at most 32 characters with at least one digit.
func checkPhone(v string) string {
	if p := lengthProblem(utf8.RuneCountInString(v), 1, 32); p != "" {
		return p
	}
	for _, r := range v {
		if unicode.IsDigit(r) {
			return ""
		}
	}
	return "contains no digit; PingOne requires at least one number in a phone number"
}

func checkPhotoHref(v string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "is not an http(s) URL"
	}
	return ""
}

func checkLocale(v string) string {
	if p := checkG(1, 256)(v); p != "" {
		return p
	}
	if !wellFormedLangTag(v) {
		if strings.Contains(v, "_") {
			return `is not an RFC 5646 language tag; map it with replace(x, "_", "-")`
		}
		return `is not an RFC 5646 language tag (e.g. "en-US", "es-419")`
	}
	return ""
}

func checkPreferredLanguage(v string) string {
	if !validAcceptLanguage(v) {
		return `is not an Accept-Language value (RFC 7231 §5.3.5, e.g. "en-GB;q=0.8, en;q=0.7")`
	}
	return ""
}

func checkEmail(v string) string {
	if !validAddrSpec(v) {
		return "is not a valid email address (RFC 5322 addr-spec, no display name or angle brackets)"
	}
	// The grammar above admits UTF-8 (RFC 6532); PingOne checks email as
	// an RFC 2822 addr-spec, ASCII only, and refuses the user mid-run.
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf {
			return "has non-ASCII characters, which PingOne refuses in an email address (RFC 2822 addr-spec); " +
				"map it with removeDiacritics(...) (letters such as ø, ß, ł also need replace(...))"
		}
	}
	return ""
}

// --- RFC 5322 addr-spec ---

// validAddrSpec reports whether s is exactly an RFC 5322 addr-spec
// (local-part "@" domain) without comments or folding white space around
// it, accepting UTF-8 in atoms and quoted strings (RFC 6532).
func validAddrSpec(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '"' {
		if !validQuotedString(local) {
			return false
		}
	} else if !validDotAtom(local) {
		return false
	}
	if domain[0] == '[' {
		return validDomainLiteral(domain)
	}
	return validDotAtom(domain)
}

func isAtext(r rune) bool {
	if r >= utf8.RuneSelf {
		return r != utf8.RuneError && unicode.IsPrint(r) && !unicode.IsSpace(r)
	}
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

func validDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r != '.' && !isAtext(r) {
			return false
		}
	}
	return true
}

func validQuotedString(s string) bool {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	in := s[1 : len(s)-1]
	for i := 0; i < len(in); {
		r, size := utf8.DecodeRuneInString(in[i:])
		switch {
		case r == '\\':
			if i+1 >= len(in) {
				return false
			}
			c := in[i+1]
			if c < 0x20 && c != '\t' || c == 0x7f {
				return false
			}
			i += 2
			continue
		case r == '"':
			return false
		case r == ' ' || r == '\t':
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			return false
		}
		i += size
	}
	return true
}

func validDomainLiteral(s string) bool {
	if len(s) < 2 || s[len(s)-1] != ']' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if c < 33 || c > 126 || c == '[' || c == ']' || c == '\\' {
			return false
		}
	}
	return true
}

// --- RFC 5646 language tags ---

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || (c|0x20) >= 'a' && (c|0x20) <= 'z') {
			return false
		}
	}
	return true
}

// grandfathered tags of RFC 5646 §2.2.8 (irregular and regular).
var grandfathered = map[string]bool{
	"en-gb-oed": true, "i-ami": true, "i-bnn": true, "i-default": true, "i-enochian": true,
	"i-hak": true, "i-klingon": true, "i-lux": true, "i-mingo": true, "i-navajo": true,
	"i-pwn": true, "i-tao": true, "i-tay": true, "i-tsu": true, "sgn-be-fr": true,
	"sgn-be-nl": true, "sgn-ch-de": true, "art-lojban": true, "cel-gaulish": true,
	"no-bok": true, "no-nyn": true, "zh-guoyu": true, "zh-hakka": true, "zh-min": true,
	"zh-min-nan": true, "zh-xiang": true,
}

// wellFormedLangTag reports whether s is a well-formed RFC 5646
// Language-Tag (syntax only: subtags are not checked against the registry).
func wellFormedLangTag(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	if grandfathered[strings.ToLower(s)] {
		return true
	}
	parts := strings.Split(s, "-")
	for _, p := range parts {
		if p == "" || len(p) > 8 || !isAlnum(p) {
			return false
		}
	}
	i := 0
	if strings.EqualFold(parts[0], "x") {
		return validPrivateUse(parts)
	}
	// language
	lang := parts[0]
	if !isAlpha(lang) || len(lang) < 2 {
		return false
	}
	i = 1
	if len(lang) <= 3 { // up to three extlang subtags
		for n := 0; n < 3 && i < len(parts) && len(parts[i]) == 3 && isAlpha(parts[i]); n++ {
			i++
		}
	}
	if i < len(parts) && len(parts[i]) == 4 && isAlpha(parts[i]) { // script
		i++
	}
	if i < len(parts) && (len(parts[i]) == 2 && isAlpha(parts[i]) || len(parts[i]) == 3 && isDigits(parts[i])) { // region
		i++
	}
	for i < len(parts) { // variants
		p := parts[i]
		if len(p) >= 5 || len(p) == 4 && p[0] >= '0' && p[0] <= '9' {
			i++
			continue
		}
		break
	}
	seen := map[byte]bool{}
	for i < len(parts) && len(parts[i]) == 1 { // extensions, then private use
		single := parts[i][0] | 0x20
		if single == 'x' {
			return validPrivateUse(parts[i:])
		}
		if seen[single] {
			return false
		}
		seen[single] = true
		i++
		n := 0
		for i < len(parts) && len(parts[i]) >= 2 {
			i++
			n++
		}
		if n == 0 {
			return false
		}
	}
	return i == len(parts)
}

func validPrivateUse(parts []string) bool {
	return len(parts) >= 2 // "x" then 1*8alphanum subtags, already checked
}

// --- RFC 7231 Accept-Language ---

// validAcceptLanguage reports whether s is an Accept-Language field value:
// 1#( language-range [ weight ] ).
func validAcceptLanguage(s string) bool {
	elems := 0
	for _, e := range strings.Split(s, ",") {
		e = strings.Trim(e, " \t")
		if e == "" {
			continue // the list rule allows empty elements
		}
		rng, weight, hasWeight := strings.Cut(e, ";")
		rng = strings.TrimRight(rng, " \t")
		if !validLanguageRange(rng) {
			return false
		}
		if hasWeight {
			weight = strings.Trim(weight, " \t")
			q, ok := strings.CutPrefix(weight, "q=")
			if !ok {
				q, ok = strings.CutPrefix(weight, "Q=")
			}
			if !ok || !validQValue(q) {
				return false
			}
		}
		elems++
	}
	return elems > 0
}

// validLanguageRange: (1*8ALPHA *("-" 1*8alphanum)) / "*" (RFC 4647).
func validLanguageRange(s string) bool {
	if s == "*" {
		return true
	}
	parts := strings.Split(s, "-")
	if parts[0] == "" || len(parts[0]) > 8 || !isAlpha(parts[0]) {
		return false
	}
	for _, p := range parts[1:] {
		if p == "" || len(p) > 8 || !isAlnum(p) {
			return false
		}
	}
	return true
}

// validQValue: ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
func validQValue(q string) bool {
	if q == "" {
		return false
	}
	whole, frac, hasFrac := strings.Cut(q, ".")
	if len(frac) > 3 || !isDigits(frac) {
		return false
	}
	switch whole {
	case "0":
		return true
	case "1":
		return !hasFrac || strings.Trim(frac, "0") == ""
	}
	return false
}
