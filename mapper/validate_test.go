package mapper

import (
	"strings"
	"testing"
)

// TestConstraints checks every PingOne attribute constraint of API-NOTES §4
// with valid and invalid values, including length boundaries in runes.
func TestConstraints(t *testing.T) {
	t.Parallel()
	rep := strings.Repeat
	tests := []struct {
		attr  string
		value string
		ok    bool
	}{
		// username: G, 1..128
		{"username", "bob", true},
		{"username", "bob@example.com", true},
		{"username", "Zoë Ångström", true},
		{"username", "e\u0301lodie", true},           // combining mark (Mn) is in G
		{"username", "emoji😀", true},                 // So is in G
		{"username", "flag🇫🇷", true},                 // regional indicators are So
		{"username", "heart❤️", true},                // U+FE0F variation selector is Mn
		{"username", "family👨\u200d👩\u200d👧", false}, // ZWJ is Cf: not in G
		{"username", "tab\there", false},
		{"username", "new\nline", false},
		{"username", "soft\u00adhyphen", false}, // Cf
		{"username", "private\ue000", false},    // Co
		{"username", "nbsp\u00a0ok", true},      // Zs
		{"username", "line\u2028sep", false},    // Zl
		{"username", rep("a", 128), true},
		{"username", rep("a", 129), false},
		{"username", rep("é", 128), true}, // 256 bytes, 128 runes
		{"username", rep("😀", 128), true},
		{"username", rep("😀", 129), false},
		// email: bare RFC 5322 addr-spec
		{"email", "bob@example.com", true},
		{"email", "Bob.Smith+tag@example.co.uk", true},
		{"email", "o'brien@example.com", true},
		{"email", "a@b", true},
		{"email", `"john doe"@example.com`, true},
		{"email", `"quote\"d"@example.com`, true},
		{"email", "user@[192.0.2.1]", true},
		{"email", "josé@exämple.de", false}, // RFC 6532 allows it; PingOne (RFC 2822) does not
		{"email", "bob@", false},
		{"email", "@example.com", false},
		{"email", "bob", false},
		{"email", "Bob <bob@example.com>", false},
		{"email", "<bob@example.com>", false},
		{"email", "bob@example.com (Bob)", false},
		{"email", " bob@example.com", false},
		{"email", "bob smith@example.com", false},
		{"email", "bob..smith@example.com", false},
		{"email", ".bob@example.com", false},
		{"email", "bob.@example.com", false},
		{"email", "bob@example..com", false},
		{"email", "bob@exa mple.com", false},
		{"email", "bob@@example.com", false},
		{"email", `"unterminated@example.com`, false},
		{"email", "bob@[1.2.3.4", false},
		// name.given / middle / nickname / title: G 1..256
		{"name.given", "Jean-Luc", true},
		{"name.given", "O’Brien", true}, // G allows any punctuation
		{"name.given", rep("x", 256), true},
		{"name.given", rep("x", 257), false},
		{"name.middle", "van der", true},
		{"nickname", "🙂", true},
		{"title", "VP, R&D", true},
		{"title", "a\x00b", false},
		// name.family / name.formatted: N 1..256
		{"name.family", "O'Brien", true},
		{"name.family", "Müller-Lüdenscheidt", true},
		{"name.family", "St. John", true},
		{"name.family", "Nguyễn", true},
		{"name.family", "e\u0301", true}, // letter + combining mark
		{"name.family", "王", true},
		{"name.family", "Louis XIV", true},
		{"name.family", "O’Brien", false}, // U+2019 is not the ASCII apostrophe
		{"name.family", "Smith, Jr", false},
		{"name.family", "Smith_Jones", false},
		{"name.family", "Smith😀", false},
		{"name.family", "Smith\u00a0Jones", false}, // only ASCII space
		{"name.family", rep("ß", 256), true},
		{"name.family", rep("ß", 257), false},
		{"name.formatted", "Dr. Jane Smith", true},
		{"name.formatted", "Jane (Janie) Smith", false},
		// honorifics: no documented pattern
		{"name.honorificPrefix", "Dr.", true},
		{"name.honorificSuffix", "Ph.D., M.Sc.", true},
		{"name.honorificSuffix", rep("x", maxUnknown+1), false},
		// preferredLanguage: Accept-Language
		{"preferredLanguage", "en", true},
		{"preferredLanguage", "en-GB;q=0.8, en;q=0.7", true},
		{"preferredLanguage", "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", true},
		{"preferredLanguage", "*", true},
		{"preferredLanguage", "en;q=1.000", true},
		{"preferredLanguage", "en;q=1.1", false},
		{"preferredLanguage", "en;q=0.1234", false},
		{"preferredLanguage", "en_GB", false},
		{"preferredLanguage", "english please", false},
		{"preferredLanguage", ",", false},
		// locale: RFC 5646, G 1..256
		{"locale", "en-US", true},
		{"locale", "es-419", true},
		{"locale", "zh-Hant-TW", true},
		{"locale", "de", true},
		{"locale", "sl-rozaj-biske", true},
		{"locale", "en-US-u-ca-gregory", true},
		{"locale", "x-private", true},
		{"locale", "en-x-foo", true},
		{"locale", "i-klingon", true},
		{"locale", "en_US", false},
		{"locale", "e", false},
		{"locale", "en-", false},
		{"locale", "en-US-u", false},
		{"locale", "toolonglanguage", false},
		// timezone: ^\w+\/\w+$
		{"timezone", "Europe/Paris", true},
		{"timezone", "America/New_York", true},
		{"timezone", "Etc/GMT0", true},
		{"timezone", "UTC", false},
		{"timezone", "America/Argentina/Buenos_Aires", false},
		{"timezone", "America/Port-au-Prince", false},
		{"timezone", "/Paris", false},
		// phones
		{"primaryPhone", "+33 1 23 45 67 89", true},
		{"primaryPhone", "ext. 42", true},
		{"primaryPhone", rep("1", 32), true},
		{"primaryPhone", rep("1", 33), false},
		{"primaryPhone", "n/a", false},
		{"mobilePhone", "+1 (555) 010-9999", true},
		{"mobilePhone", "٠١٢", true}, // Arabic-Indic digits are numbers
		{"mobilePhone", "none", false},
		// photo.href
		{"photo.href", "https://cdn.example.com/p/bob.jpg", true},
		{"photo.href", "http://example.com/a.png", true},
		{"photo.href", "ftp://example.com/a.png", false},
		{"photo.href", "/relative.png", false},
		{"photo.href", "https://", false},
		// address
		{"address.streetAddress", "1 Main St.\nApt #4", true},
		{"address.streetAddress", "Straße 5, 2. OG", true},
		{"address.streetAddress", "Unit 4 + 5", false}, // + is a symbol
		{"address.streetAddress", "Rue $", false},
		{"address.streetAddress", "tab\there", false},
		{"address.streetAddress", rep("a", 257), false},
		{"address.locality", "Saint-Étienne", true},
		{"address.region", "Île-de-France", true},
		{"address.postalCode", "75001", true},
		{"address.postalCode", "SW1A 1AA", true},
		{"address.postalCode", rep("1", 40), true},
		{"address.postalCode", rep("1", 41), false},
		{"address.countryCode", "FR", true},
		{"address.countryCode", "fr", false},
		{"address.countryCode", "FRA", false},
		{"address.countryCode", "F1", false},
		{"address.countryCode", "ÉT", false},
		// others
		{"type", "Employee", true},
		{"type", rep("t", 257), false},
		{"accountId", "5", true},
		{"externalId", rep("x", 1024), true},
		{"externalId", rep("x", 1025), false},
	}
	for _, tt := range tests {
		name := tt.attr + "/" + quoteValue(tt.value)
		t.Run(name, func(t *testing.T) {
			spec, ok := standardAttrs[tt.attr]
			if !ok {
				t.Fatalf("no spec for %s", tt.attr)
			}
			v := nfc(tt.value)
			problem := spec.check(v)
			if (problem == "") != tt.ok {
				t.Errorf("check(%s) = %q, want ok=%v", quoteValue(tt.value), problem, tt.ok)
			}
		})
	}
}

func TestAllStandardAttrsTested(t *testing.T) {
	t.Parallel()
	// Every attribute the mapping may set has a check; keep the table
	// above in step when adding one.
	for name, spec := range standardAttrs {
		if spec.check == nil {
			t.Errorf("%s has no check", name)
		}
	}
}

func TestCustomAttributeName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"costCenter", true},
		{"customAttribute-101", true},
		{"a", true},
		{"a1-b2", true},
		{"1abc", false},
		{"-abc", false},
		{"cost_center", false},
		{"cost.center", false},
		{"", false},
		{"coût", false},
		{strings.Repeat("a", 256), true},
		{strings.Repeat("a", 257), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validCustomName(tt.name); got != tt.ok {
				t.Errorf("validCustomName(%q) = %v, want %v", tt.name, got, tt.ok)
			}
		})
	}
}

// TestNFCBeforeCheck: a decomposed value is normalised before checking and
// stored in NFC.
func TestNFC(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"ascii", "ascii"},
		{"e\u0301", "é"},
		{"Ångström", "Ångström"},
		{"A\u030angstro\u0308m", "Ångström"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := nfc(tt.in); got != tt.want {
			t.Errorf("nfc(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQuoteValueTruncates(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 100)
	got := quoteValue(long)
	if !strings.HasSuffix(got, "…") || strings.Count(got, "é") != 64 {
		t.Errorf("quoteValue(100 runes) = %q, want 64 runes and an ellipsis", got)
	}
	if got := quoteValue("a\tb"); got != `"a\tb"` {
		t.Errorf("quoteValue escapes controls: got %s", got)
	}
}
