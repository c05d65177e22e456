package mail

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// fileSender writes one .eml file per message into a directory: the demo's
// and a developer's outbox, readable by any mail client.
type fileSender struct{ dir string }

func openFile(u *url.URL) (*fileSender, error) {
	// file://outbox parses as host "outbox"; file:///var/mail/out as path
	// "/var/mail/out"; file:outbox as opaque "outbox".
	dir := u.Host + u.Path
	if u.Opaque != "" {
		dir = u.Opaque
	}
	if dir == "" {
		return nil, fmt.Errorf("%s %q: file:// needs a directory, e.g. file://outbox or file:///var/mail/out", envVar, u.Redacted())
	}
	if len(u.Query()) > 0 {
		return nil, fmt.Errorf("%s %q: file:// takes no options", envVar, u.Redacted())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s %q: create outbox: %w", envVar, u.Redacted(), err)
	}
	return &fileSender{dir: filepath.Clean(dir)}, nil
}

// unsafeFile is what may not appear in a file name made from a Message-ID.
var unsafeFile = regexp.MustCompile(`[^A-Za-z0-9._@+=-]+`)

// Send writes the message atomically: into a temporary file that is synced
// and then renamed, so a crash leaves either the whole .eml or none (at
// worst a stray .tmp-* file, which no reader takes for a message). The same
// Message-ID overwrites the same file, so resending an attempt is idempotent.
func (f *fileSender) Send(ctx context.Context, m *Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: write .eml: %w", err)
	}
	b, err := build(m)
	if err != nil {
		return err
	}
	name := strings.TrimLeft(unsafeFile.ReplaceAllString(b.messageID, "_"), ".")
	if len(name) > 200 {
		name = name[:200]
	}
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return fmt.Errorf("mail: write .eml: %w", err)
	}
	if err := writeAtomic(filepath.Join(f.dir, name+".eml"), b.raw); err != nil {
		return fmt.Errorf("mail: write .eml: %w", err)
	}
	return nil
}

// Close does nothing: files are complete when Send returns.
func (f *fileSender) Close() error { return nil }

// writeAtomic writes data to path through a synced temporary file in the
// same directory and a rename. The file is private to the owner: it holds a
// donor's name, address and statement.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Sync the directory so the rename itself survives a power cut.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
