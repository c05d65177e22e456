package letter_test

import (
	"os"
	"testing"

	"impactd/internal/letter"
)

func TestDumpForLooking(t *testing.T) {
	dir := os.Getenv("LETTER_DUMP_DIR")
	if dir == "" {
		t.Skip()
	}
	r := MustRenderer(t)
	os.WriteFile(dir+"/typical.pdf", MustRender(t, r, letter.SampleSnapshot()), 0o644)
	os.WriteFile(dir+"/long.pdf", MustRender(t, r, longSnapshot(200)), 0o644)
}
