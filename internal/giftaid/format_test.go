package giftaid_test

import (
	"bytes"
	"encoding/csv"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"impactd/internal/giftaid"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

var london = mustLoc("Europe/London")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func TestSplitName(t *testing.T) {
	tests := []struct {
		in   string
		want giftaid.Name
		why  giftaid.Reason
	}{
		{"Olivia Smith", giftaid.Name{First: "Olivia", Last: "Smith"}, ""},
		{"  olivia   smith ", giftaid.Name{First: "olivia", Last: "smith"}, ""},
		{"Mrs Olivia Smith", giftaid.Name{Title: "Mrs", First: "Olivia", Last: "Smith"}, ""},
		{"Dr. Aisha Khan", giftaid.Name{Title: "Dr", First: "Aisha", Last: "Khan"}, ""},
		{"Rev. Canon James O'Brien", giftaid.Name{Title: "Rev", First: "Canon James", Last: "O'Brien"}, ""},
		{"Professor Priya Patel", giftaid.Name{Title: "Prof", First: "Priya", Last: "Patel"}, ""},
		{"Miss Siobhán MacDonald", giftaid.Name{Title: "Miss", First: "Siobhán", Last: "MacDonald"}, ""},
		{"Ngọc Ánh Nguyễn", giftaid.Name{First: "Ngọc Ánh", Last: "Nguyễn"}, ""},
		{"José de la Cruz", giftaid.Name{First: "José", Last: "de la Cruz"}, ""},
		{"Willem van der Berg", giftaid.Name{First: "Willem", Last: "van der Berg"}, ""},
		{"George Fitzgerald-Hughes", giftaid.Name{First: "George", Last: "Fitzgerald Hughes"}, ""},
		{"Mr Smith", giftaid.Name{Title: "Mr"}, giftaid.ReasonNoSurname}, // a title and one word: no first name
		{"Mr", giftaid.Name{}, giftaid.ReasonNoSurname},                  // a one-word name, not a title
		{"Cher", giftaid.Name{}, giftaid.ReasonNoSurname},
		{"", giftaid.Name{}, giftaid.ReasonNoName},
		{"Maximilianus Bartholomaeus Constantinus Smith", giftaid.Name{First: "M", Last: "Smith"}, ""},
		{"Ann Wolfeschlegelsteinhausenbergerdorffvoralternwaren", giftaid.Name{First: "Ann", Last: "Wolfeschlegelsteinhausenbergerdorffvoralternwaren"}, giftaid.ReasonNameTooLong},
	}
	for _, tt := range tests {
		got, why := giftaid.SplitName(tt.in)
		if got != tt.want || why != tt.why {
			t.Errorf("SplitName(%q) = %+v, %q; want %+v, %q", tt.in, got, why, tt.want, tt.why)
		}
	}
}

func TestHouseNameOrNumber(t *testing.T) {
	tests := []struct {
		street []string
		want   string
	}{
		{[]string{"12 High Street"}, "12"},
		{[]string{"12A Mill Lane"}, "12A"},
		{[]string{"221b Baker Street"}, "221b"},
		{[]string{"12-14 Church Lane"}, "12-14"},
		{[]string{"12 - 14 Church Lane"}, "12-14"},
		{[]string{"7/9 Station Road"}, "7/9"},
		{[]string{"12, High Street"}, "12"},
		{[]string{"Flat 3, 12 High Street"}, "Flat 3, 12"},
		{[]string{"Flat 3", "12 High Street"}, "Flat 3, 12"},
		{[]string{"Apartment 5, The Wharf", "Queen's Road"}, "Apartment 5, The Wharf"},
		{[]string{"Rose Cottage", "Mill Lane"}, "Rose Cottage"},
		{[]string{"Rose Cottage, Mill Lane"}, "Rose Cottage"},
		{[]string{"The Old Rectory, Church Lane"}, "The Old Rectory"},
		{[]string{"High Street"}, ""},
		{[]string{"Victoria Road", "Flat 2"}, ""},
		{[]string{"PO Box 123"}, ""},
		{[]string{"P.O. Box 9"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := giftaid.HouseNameOrNumber(tt.street); got != tt.want {
			t.Errorf("HouseNameOrNumber(%q) = %q, want %q", tt.street, got, tt.want)
		}
	}
}

func TestNormalisePostcode(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"SE1 7TP", "SE1 7TP", true}, {"se17tp", "SE1 7TP", true}, {"sw1a 1aa", "SW1A 1AA", true},
		{"M1 1AE", "M1 1AE", true}, {"EH1  1YZ", "EH1 1YZ", true}, {"CF10 1EP", "CF10 1EP", true},
		{"BT1 5GS", "BT1 5GS", true}, {"GIR 0AA", "GIR 0AA", true}, {"W1A 0AX", "W1A 0AX", true},
		{"10001", "", false}, {"D02 X285", "", false}, {"", "", false}, {"SE1", "", false}, {"X", "", false},
	}
	for _, tt := range tests {
		got, ok := giftaid.NormalisePostcode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalisePostcode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHomeOf(t *testing.T) {
	tests := []struct {
		stored string
		want   giftaid.Home
		why    giftaid.Reason
	}{
		// The form internal/ingest stores: line 1, line 2, "City Postcode", state, country.
		{"12 High Street\nLondon se1 7tp\nGB", giftaid.Home{House: "12", Postcode: "SE1 7TP"}, ""},
		{"Flat 3\n12 High Street\nManchester M1 1AE\nGB", giftaid.Home{House: "Flat 3, 12", Postcode: "M1 1AE"}, ""},
		{"Rose Cottage\nMill Lane\nEdinburgh EH1 1YZ\nGB", giftaid.Home{House: "Rose Cottage", Postcode: "EH1 1YZ"}, ""},
		{"High Street\nBristol BS1 4DJ\nGB", giftaid.Home{Postcode: "BS1 4DJ"}, giftaid.ReasonNoHouse},
		{"12 High Street\nLondon\nGB", giftaid.Home{}, giftaid.ReasonNoPostcode},
		{"12 Main Street\nDublin D02 X285\nIE", giftaid.Home{}, giftaid.ReasonNotUK},
		{"350 Fifth Avenue\nNew York 10001\nNY\nUS", giftaid.Home{}, giftaid.ReasonNotUK},
		{"", giftaid.Home{}, giftaid.ReasonNoAddress},
	}
	for _, tt := range tests {
		got, why := giftaid.HomeOf(tt.stored)
		if got != tt.want || why != tt.why {
			t.Errorf("HomeOf(%q) = %+v, %q; want %+v, %q", tt.stored, got, why, tt.want, tt.why)
		}
	}
}

func TestFormats(t *testing.T) {
	for _, tt := range []struct {
		pence int64
		want  string
	}{{0, "0.00"}, {5, "0.05"}, {50, "0.50"}, {1234, "12.34"}, {100000, "1000.00"}, {-305, "-3.05"}, {-9223372036854775808, "-92233720368547758.08"}} {
		if got := giftaid.FormatAmount(tt.pence); got != tt.want {
			t.Errorf("FormatAmount(%d) = %q, want %q", tt.pence, got, tt.want)
		}
	}
	// 23:30 on 31 March 2026 in London is the 31st there, the 1st of April nowhere.
	if got := giftaid.FormatDate(time.Date(2026, 3, 31, 22, 30, 0, 0, time.UTC).Unix(), london); got != "31/03/26" {
		t.Errorf("FormatDate = %q", got)
	}
	// BST: 23:30 UTC on 30 June is 00:30 on 1 July in London.
	if got := giftaid.FormatDate(time.Date(2026, 6, 30, 23, 30, 0, 0, time.UTC).Unix(), london); got != "01/07/26" {
		t.Errorf("FormatDate across BST = %q", got)
	}
	for _, tt := range []struct{ pence, want int64 }{{1000, 250}, {1001, 250}, {1002, 251}, {1, 0}, {2, 1}, {-1002, -251}, {0, 0}} {
		if got, err := giftaid.GiftAidOn(tt.pence); err != nil || got != tt.want {
			t.Errorf("GiftAidOn(%d) = %d, %v; want %d", tt.pence, got, err, tt.want)
		}
	}
	if _, err := giftaid.GiftAidOn(1 << 62); err == nil {
		t.Error("GiftAidOn of 2^62 pence did not overflow")
	}
}

func day(y int, m time.Month, d int) int64 { return time.Date(y, m, d, 12, 0, 0, 0, london).Unix() }

// sampleLines are claimed gifts of several donors, small and large.
func sampleLines() []giftaid.Line {
	olivia := giftaid.Name{Title: "Mrs", First: "Olivia", Last: "Smith"}
	jose := giftaid.Name{First: "José", Last: "de la Cruz"}
	george := giftaid.Name{First: "George", Last: "Fitzgerald Hughes"}
	home := func(h, p string) giftaid.Home { return giftaid.Home{House: h, Postcode: p} }
	return []giftaid.Line{
		{DonationID: "gift_3", DonorID: "dnr_b", Created: day(2026, 8, 3), Amount: 2500, Name: jose, Home: home("Flat 3, 12", "M1 1AE")},
		{DonationID: "gift_1", DonorID: "dnr_a", Created: day(2026, 7, 1), Amount: 1000, Name: olivia, Home: home("12", "SE1 7TP")},
		{DonationID: "gift_2", DonorID: "dnr_a", Created: day(2026, 8, 1), Amount: 1000, Name: olivia, Home: home("12", "SE1 7TP")},
		{DonationID: "gift_4", DonorID: "dnr_c", Created: day(2026, 9, 30), Amount: 50000, Name: george, Home: home("Rose Cottage", "EH1 1YZ")},
		{DonationID: "gift_5", DonorID: "dnr_c", Created: day(2026, 4, 5), Amount: 2000, Name: george, Home: home("Rose Cottage", "EH1 1YZ")},
	}
}

func TestScheduleGolden(t *testing.T) {
	for _, tt := range []struct {
		name      string
		aggregate bool
		rows      int
	}{{"schedule", false, 5}, {"schedule-aggregated", true, 4}} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := giftaid.Build(sampleLines(), nil, nil, tt.aggregate, london)
			if err != nil {
				t.Fatal(err)
			}
			if s.Total != 56500 || len(s.Rows) != tt.rows || s.GiftAid != 14125 || s.Earliest != day(2026, 4, 5) {
				t.Fatalf("total %d, %d rows, gift aid %d, earliest %d", s.Total, len(s.Rows), s.GiftAid, s.Earliest)
			}
			var buf bytes.Buffer
			if err := giftaid.WriteCSV(&buf, s.Rows); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", tt.name+".golden.csv"), buf.Bytes())
		})
	}
}

func TestAggregateLimits(t *testing.T) {
	var lines []giftaid.Line
	// 60 gifts of £20 in one tax year (2026/27) and one of £20.01: the
	// small ones fill lines of at most £1,000; the other is a donor's row.
	for i := range 60 {
		lines = append(lines, giftaid.Line{DonationID: "g" + string(rune('A'+i)), Created: day(2026, 5, 1) + int64(i)*3600, Amount: 2000,
			Name: giftaid.Name{First: "A", Last: "B"}, Home: giftaid.Home{House: "1", Postcode: "SE1 7TP"}})
	}
	lines = append(lines, giftaid.Line{DonationID: "big", Created: day(2026, 5, 2), Amount: 2001,
		Name: giftaid.Name{First: "A", Last: "B"}, Home: giftaid.Home{House: "1", Postcode: "SE1 7TP"}})
	// A small gift of the tax year before goes on a line of its own year.
	lines = append(lines, giftaid.Line{DonationID: "old", Created: day(2026, 4, 5), Amount: 500})
	s, err := giftaid.Build(lines, nil, nil, true, london)
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]string
	for _, r := range s.Rows {
		got = append(got, [2]string{r.Aggregated, r.Amount})
	}
	want := [][2]string{{"", "20.01"}, {"Online donations 2025/26 no. 1", "5.00"},
		{"Online donations 2026/27 no. 1", "1000.00"}, {"Online donations 2026/27 no. 2", "200.00"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	if s.Total != 60*2000+2001+500 {
		t.Fatalf("total %d", s.Total)
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update after checking):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestODSOpensInLibreOffice converts the spreadsheet with Debian's
// LibreOffice, headless, and compares what it reads with the CSV. The
// filter options ask for UTF-8 and cells "as shown" (token 9), so the date
// and amount are compared as the spreadsheet displays them (DD/MM/YY, two
// decimals), not as their stored values.
func TestODSOpensInLibreOffice(t *testing.T) {
	bin := ""
	for _, name := range []string{"libreoffice", "soffice"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("libreoffice not installed (apt-get install libreoffice-calc-nogui; .ci/run does)")
	}
	for _, aggregate := range []bool{false, true} {
		s, err := giftaid.Build(sampleLines(), nil, nil, aggregate, london)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		files, err := giftaid.WriteFiles(dir, "claim", s, london)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "converted")
		cmd := exec.Command(bin, "-env:UserInstallation=file://"+filepath.Join(dir, "profile"), "--headless",
			"--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true", "--outdir", out, files.ODS)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("libreoffice: %v\n%s", err, b)
		}
		got := readCSV(t, filepath.Join(out, "claim.csv"))
		want := readCSV(t, files.CSV)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("LibreOffice reads the ODS (aggregate %v) as\n%q\nthe CSV says\n%q", aggregate, got, want)
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	// LibreOffice leaves out empty cells at the end of a row.
	for i, rec := range recs {
		for len(rec) < len(giftaid.Header) {
			rec = append(rec, "")
		}
		recs[i] = rec
	}
	return recs
}
