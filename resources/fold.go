package resources

import (
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// FoldText is the form in which a `lowercase` field (an email) is stored,
// compared and made unique: Unicode compatibility normalisation (NFKC), then
// full case folding, then NFC again. Case variants that lower-casing keeps
// apart are one value: "ſam" and "sam", "σ" and "ς", "ß" and "ss", the
// Kelvin sign and "k", full-width letters and their plain forms.
func FoldText(s string) string {
	return norm.NFC.String(cases.Fold().String(norm.NFKC.String(s)))
}
