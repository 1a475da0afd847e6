package lines

import "testing"

func TestFirst(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"secret":           "secret",
		"secret\n":         "secret",
		"secret\r\n":       "secret",
		"old Mac\rsecond":  "old Mac",
		" spaced pass \n2": " spaced pass ",
		"\nafter":          "",
	} {
		if got := First(in); got != want {
			t.Errorf("First(%q) = %q, want %q", in, got, want)
		}
	}
}
