package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"impactd/internal/domain"
)

const impactYAML = `period: 2026-Q2
title: Quarter two
narrative: What the quarter brought.
source: Annual report
as_of: "2026-06-30"
demo_data: true
metrics:
  - key: rescued
    label: People brought to safety
    period: 12
`

// TestCLIMessages: what the non-run commands say when they are used wrongly,
// and that a refused command changed nothing.
func TestCLIMessages(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"IMPACTD_DATABASE_URL": "sqlite:" + filepath.Join(dir, "x.db"), "IMPACTD_SMTP_URL": "file://" + dir}
	getenv := func(k string) string { return env[k] }
	file := filepath.Join(dir, "update.yaml")
	if err := os.WriteFile(file, []byte(impactYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), args, getenv, &out, io.Discard)
		return out.String(), err
	}

	// --publish without --approved-by is refused before anything is stored.
	out, err := cmd("impact", "import", file, "--publish")
	if err == nil || !strings.Contains(err.Error(), "--approved-by") {
		t.Fatalf("import --publish without --approved-by: %v", err)
	}
	if out != "" {
		t.Errorf("the refused import said %q", out)
	}
	if _, err := cmd("impact", "export", "--period", "2026-Q2"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("the refused import stored a draft: %v", err)
	}
	if out, err := cmd("impact", "import", file, "--publish", "--approved-by", "Head of Programmes"); err != nil || !strings.Contains(out, "published") {
		t.Fatalf("import --publish --approved-by: %q %v", out, err)
	}

	// An unknown id: said once, in words, without the error code.
	_, err = cmd("impact", "publish", "upd_nope", "--approved-by", "x")
	if got, want := message(err), "no impact update has the id upd_nope"; got != want {
		t.Errorf("publish upd_nope: %q, want %q", got, want)
	}
	_, err = cmd("impact", "publish", "upd_nope")
	if got := message(err); strings.Count(got, "publish impact update") > 1 || !strings.Contains(got, "who approved") {
		t.Errorf("publish without --approved-by: %q", got)
	}

	// The export writes a boolean where a boolean belongs.
	out, err = cmd("impact", "export", "--period", "2026-Q2")
	if err != nil || !strings.Contains(out, "demo_data: true") || strings.Contains(out, "demo_data: 1") {
		t.Errorf("export: %v\n%s", err, out)
	}

	for _, n := range []string{"0", "-3"} {
		if _, err := cmd("demo", "--dir", filepath.Join(dir, "demo"), "--donors", n); err == nil || !strings.Contains(err.Error(), "at least 1") {
			t.Errorf("demo --donors %s: %v", n, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "demo")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused demo made its directory: %v", err)
	}
}

// TestREADMEListsEveryCommandOnce: every command is in the README's table of
// commands, and no form of one is listed twice.
func TestREADMEListsEveryCommandOnce(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	var table []string
	for _, line := range strings.Split(string(b), "\n") {
		cmd, ok := strings.CutPrefix(line, "| `impactd ")
		if !ok {
			continue
		}
		cmd, _, _ = strings.Cut(cmd, "`")
		table = append(table, cmd)
		// A form is the command and its first flag: "run --period", "run --statement".
		var form []string
		for _, w := range strings.Fields(cmd) {
			if strings.HasPrefix(w, "[") {
				break
			}
			form = append(form, w)
			if strings.HasPrefix(w, "--") {
				break
			}
		}
		rows[strings.Join(form, " ")]++
	}
	for form, n := range rows {
		if n > 1 {
			t.Errorf("README.md lists `impactd %s` %d times", form, n)
		}
	}
	var walk func(prefix string, c *cobra.Command)
	walk = func(prefix string, c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			name := strings.TrimSpace(prefix + " " + sub.Name())
			if sub.HasSubCommands() {
				walk(name, sub)
				continue
			}
			found := false
			for _, row := range table {
				found = found || row == name || strings.HasPrefix(row, name+" ")
			}
			if !found {
				t.Errorf("README.md's commands table lacks `impactd %s`", name)
			}
		}
	}
	walk("", rootCommand(func(string) string { return "" }, io.Discard, io.Discard))
}
