// Package msid recognises Microsoft's identifiers in text the product
// receives: GUIDs (tenant, object, application and subscription ids) and
// Entra ID's AADSTS error codes.
//
// The checks are written as loops rather than regular expressions: every
// function links this package, and a package-level regexp.MustCompile is
// compiled at process start, which costs each cold start page faults and
// allocations whether or not a request ever checks an id.
package msid

// IsGUID reports whether s is a GUID in its canonical 8-4-4-4-12 form, in
// either case.
func IsGUID(s string) bool { return guid(s, true) }

// IsLowerGUID reports whether s is a canonical GUID in lower case, the form
// Microsoft puts in the tid and oid claims of its tokens.
func IsLowerGUID(s string) bool { return guid(s, false) }

func guid(s string, upperOK bool) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || upperOK && 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// MaxAADSTSDigits bounds the digits of one AADSTS code (the longest
// Microsoft documents has seven).
const MaxAADSTSDigits = 9

// AADSTSCodes returns the AADSTS error codes in an error text, in order,
// each "AADSTS" followed by 1 to MaxAADSTSDigits digits and not preceded or
// followed by a letter, digit or underscore.
func AADSTSCodes(s string) []string {
	var codes []string
	const prefix = "AADSTS"
	for i := 0; i+len(prefix) < len(s); i++ {
		if s[i:i+len(prefix)] != prefix || i > 0 && word(s[i-1]) {
			continue
		}
		j := i + len(prefix)
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j++
		}
		n := j - i - len(prefix)
		if n == 0 || n > MaxAADSTSDigits || j < len(s) && word(s[j]) {
			continue
		}
		codes = append(codes, s[i:j])
		i = j - 1
	}
	return codes
}

// AADSTS returns the first AADSTS error code in an error text, or "".
func AADSTS(s string) string {
	if c := AADSTSCodes(s); len(c) > 0 {
		return c[0]
	}
	return ""
}

func word(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}
