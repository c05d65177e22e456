package searchkey_test

import (
	"reflect"
	"testing"

	"impactd/internal/searchkey"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Łukasiewicz":          "lukasiewicz",
		"Zoë Łukasiewicz":      "zoe lukasiewicz",
		"Åsa Øvergaard":        "asa overgaard",
		"Ngọc Ánh Nguyễn":      "ngoc anh nguyen",
		"Trần Thị Hương":       "tran thi huong",
		"Đặng Văn Lâm":         "dang van lam",
		"Straße":               "strasse",
		"STRASSE":              "strasse",
		"Ænes Cœur":            "aenes coeur",
		"Björn Schäfer-Müller": "bjorn schafer muller",
		"O'Brien":              "obrien",
		"O’Brien":              "obrien",
		"Наталья Иванова":      "наталья иванова",
		"ЁЛКИН":                "елкин",
		"Σωκράτης Παπαδόπουλος":      "σωκρατησ παπαδοπουλοσ", // final sigma folds to σ
		"ΟΔΥΣΣΕΥΣ":                   "οδυσσευσ",
		"Þórunn Guðmundsdóttir":      "thorunn gudmundsdottir",
		"İlknur Yılmaz":              "ilknur yilmaz",
		"ﬁona":                       "fiona",
		"Ｆｕｌｌ":                       "full",
		"  de la   Cruz  ":           "de la cruz",
		"Jean_Luc+gifts@Example.ORG": "jean luc gifts@example.org",
		"100% _sure_":                "100 sure",
		"N\u0067\u1ecdc":             "ngoc", // decomposed on input already
		"Nguye\u0302\u0303n":         "nguyen",
		"":                           "",
	} {
		if got := searchkey.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKey(t *testing.T) {
	if got, want := searchkey.Key("Zoë Łukasiewicz", "zoe@example.org", "ZOE@example.org", "", "z.l@example.org"), "zoe lukasiewicz zoe@example.org z.l@example.org"; got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}
	if got := searchkey.Key("", ""); got != "" {
		t.Errorf("Key of an erased donor = %q", got)
	}
	if got, want := searchkey.Key("", "guest@example.org"), "guest@example.org"; got != want {
		t.Errorf("Key of a guest = %q, want %q", got, want)
	}
}

func TestTerms(t *testing.T) {
	if got, want := searchkey.Terms("  Nguyễn,  Ánh "), []string{"nguyen", "anh"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Terms = %q, want %q", got, want)
	}
	if got := searchkey.Terms("%_\\"); len(got) != 0 {
		t.Errorf("LIKE wildcards survived folding: %q", got)
	}
}
