package msid

import (
	"reflect"
	"regexp"
	"testing"
)

func TestIsGUID(t *testing.T) {
	for _, tc := range []struct {
		in          string
		guid, lower bool
	}{
		{"8f6e3c1a-0000-4000-8000-00000000abcd", true, true},
		{"8F6E3C1A-0000-4000-8000-00000000ABCD", true, false},
		{"8f6e3c1a-0000-4000-8000-00000000abc", false, false},
		{"8f6e3c1a-0000-4000-8000-00000000abcde", false, false},
		{"8f6e3c1a00000-4000-8000-00000000abcd", false, false},
		{"8f6e3c1a-0000-4000-8000-00000000abcg", false, false},
		{"{8f6e3c1a-0000-4000-8000-00000000ab}", false, false},
		{"", false, false},
		{"8f6e3c1a-0000-4000-8000-00000000abcdé", false, false},
	} {
		if got := IsGUID(tc.in); got != tc.guid {
			t.Errorf("IsGUID(%q) = %v, want %v", tc.in, got, tc.guid)
		}
		if got := IsLowerGUID(tc.in); got != tc.lower {
			t.Errorf("IsLowerGUID(%q) = %v, want %v", tc.in, got, tc.lower)
		}
	}
}

func TestAADSTSCodes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"AADSTS7000215: Invalid client secret provided.", []string{"AADSTS7000215"}},
		{"first AADSTS90002 then AADSTS700016.", []string{"AADSTS90002", "AADSTS700016"}},
		{"XAADSTS123 AADSTS12x AADSTS_1 AADSTS", nil},
		{"AADSTS1234567890 too long", nil},
		{"(AADSTS65004)", []string{"AADSTS65004"}},
		{"", nil},
	} {
		if got := AADSTSCodes(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("AADSTSCodes(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if AADSTS("no code here") != "" || AADSTS("x AADSTS50020 y AADSTS1") != "AADSTS50020" {
		t.Error("AADSTS does not return the first code")
	}
}

// The loops agree with the regular expressions they replace.
func FuzzAgreesWithRegexp(f *testing.F) {
	guidRE := regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	lowerRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	codeRE := regexp.MustCompile(`\bAADSTS[0-9]{1,9}\b`)
	for _, s := range []string{"8f6e3c1a-0000-4000-8000-00000000abcd", "AADSTS50020 and AADSTS1", "aAADSTS1 AADSTS12345678901"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if IsGUID(s) != guidRE.MatchString(s) || IsLowerGUID(s) != lowerRE.MatchString(s) {
			t.Fatalf("GUID checks disagree with the pattern on %q", s)
		}
		want := codeRE.FindAllString(s, -1)
		if got := AADSTSCodes(s); !reflect.DeepEqual(got, want) {
			t.Fatalf("AADSTSCodes(%q) = %v, pattern finds %v", s, got, want)
		}
	})
}
