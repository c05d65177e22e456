package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestStaffAdd(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"IMPACTD_DATABASE_URL": "sqlite:" + filepath.Join(dir, "x.db"), "IMPACTD_SMTP_URL": "file://" + dir}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		args []string
		ok   bool
		want string
	}{
		{[]string{"staff", "add", "--email", "Ann@Example.org", "--role", "operator"}, true, "added: ann@example.org"},
		{[]string{"staff", "add", "--email", "ann@example.org", "--role", "viewer"}, false, "already exists"},
		{[]string{"staff", "add", "--email", "bob@example.org", "--role", "boss"}, false, "--role"},
		{[]string{"staff", "add", "--email", "not an address", "--role", "admin"}, false, "not an email address"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := run(context.Background(), tt.args, getenv, &out, io.Discard)
		got := out.String()
		if err != nil {
			got = err.Error()
		}
		if (err == nil) != tt.ok || !strings.Contains(got, tt.want) {
			t.Errorf("%v: %v %q", tt.args, err, got)
		}
		if tt.ok && !strings.Contains(got, "password (shown once): ") {
			t.Errorf("%v: no generated password in %q", tt.args, got)
		}
	}
}
