package mail_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"impactd/internal/mail"
)

// pdf is a stand-in statement: enough bytes to need several base64 lines.
var pdf = append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0, 1, 2, 0xff, '\r', '\n'}, 200)...)

// letter returns a statement email like the runner builds.
func letter(id string) *mail.Message {
	return &mail.Message{
		From: "letters@impactd.example", FromName: "Impact Team", ReplyTo: "supporters@impactd.example",
		To: "zoe@example.org", ToName: "Zoë Łukasiewicz",
		Subject: "Your impact letter for 2026 Q3 — thank you",
		Text:    "Dear Zoë,\nthank you.\n",
		HTML:    "<p>Dear Zoë,</p><p>thank you.</p>",
		Attachments: []mail.Attachment{
			{Name: "impact-statement-2026-Q3.pdf", ContentType: "application/pdf", Data: pdf},
		},
		MessageID: id,
		Headers: map[string]string{
			"List-Unsubscribe":      "<https://impactd.example/unsubscribe/tok-123>",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
		Date: time.Date(2026, 10, 5, 9, 30, 0, 0, time.UTC),
	}
}

// MustOpen opens a sender and closes it with the test.
func MustOpen(tb testing.TB, rawURL string, opts mail.Options) mail.Sender {
	tb.Helper()
	s, err := mail.Open(rawURL, opts)
	if err != nil {
		tb.Fatalf("Open(%q): %v", mail.Redact(rawURL), err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// MustReadEML parses an .eml file written by the file transport.
func MustReadEML(tb testing.TB, path string) *netmail.Message {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("parse %s: %v", path, err)
	}
	return msg
}

// part is one leaf of a parsed MIME tree.
type part struct {
	path        string // e.g. "multipart/mixed/multipart/alternative/text/plain"
	mediaType   string
	disposition string
	filename    string
	body        []byte // decoded
}

// walk flattens a MIME entity into its leaves, depth first.
func walk(tb testing.TB, prefix, contentType, cte, disp string, body io.Reader) []part {
	tb.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		tb.Fatalf("content type %q: %v", contentType, err)
	}
	path := strings.TrimPrefix(prefix+"/"+mt, "/")
	if strings.HasPrefix(mt, "multipart/") {
		var out []part
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				return out
			}
			if err != nil {
				tb.Fatalf("%s: %v", path, err)
			}
			out = append(out, walk(tb, path, p.Header.Get("Content-Type"),
				p.Header.Get("Content-Transfer-Encoding"), p.Header.Get("Content-Disposition"), p)...)
		}
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		tb.Fatal(err)
	}
	data := raw
	switch strings.ToLower(cte) {
	case "base64":
		data = mustBase64(tb, raw)
	case "quoted-printable":
		data = mustQP(tb, raw)
	}
	pt := part{path: path, mediaType: mt, body: data}
	if disp != "" {
		d, dp, err := mime.ParseMediaType(disp)
		if err != nil {
			tb.Fatalf("content disposition %q: %v", disp, err)
		}
		pt.disposition, pt.filename = d, dp["filename"]
	}
	return []part{pt}
}

func TestFileTransport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "box") // does not exist yet
	s := MustOpen(t, "file://"+dir, mail.Options{})

	id := "stmt-01J9ZK.1@impactd.example"
	if err := s.Send(context.Background(), letter(id)); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "stmt-01J9ZK.1@impactd.example.eml" {
		t.Fatalf("outbox holds %v, want exactly stmt-01J9ZK.1@impactd.example.eml (and no temp file)", entries)
	}
	msg := MustReadEML(t, filepath.Join(dir, entries[0].Name()))

	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil {
		t.Fatal(err)
	}
	from, err := msg.Header.AddressList("From")
	if err != nil {
		t.Fatal(err)
	}
	date, err := msg.Header.Date()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"Message-ID", msg.Header.Get("Message-Id"), "<" + id + ">"},
		{"Subject", subject, "Your impact letter for 2026 Q3 — thank you"},
		{"To name", to[0].Name, "Zoë Łukasiewicz"},
		{"To address", to[0].Address, "zoe@example.org"},
		{"From", from[0].String(), `"Impact Team" <letters@impactd.example>`},
		{"Reply-To", msg.Header.Get("Reply-To"), "<supporters@impactd.example>"},
		{"List-Unsubscribe", msg.Header.Get("List-Unsubscribe"), "<https://impactd.example/unsubscribe/tok-123>"},
		{"List-Unsubscribe-Post", msg.Header.Get("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click"},
		{"Date", date.UTC().Format(time.RFC3339), "2026-10-05T09:30:00Z"},
		{"MIME-Version", msg.Header.Get("Mime-Version"), "1.0"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if len(to) != 1 || len(msg.Header["Bcc"]) != 0 || len(msg.Header["Cc"]) != 0 {
		t.Errorf("recipients: To %v, Cc %v, Bcc %v; want only Zoë", to, msg.Header["Cc"], msg.Header["Bcc"])
	}

	parts := walk(t, "", msg.Header.Get("Content-Type"), "", "", msg.Body)
	want := []struct{ path, body, filename string }{
		{"multipart/mixed/multipart/alternative/text/plain", "Dear Zoë,\nthank you.\n", ""},
		{"multipart/mixed/multipart/alternative/text/html", "<p>Dear Zoë,</p><p>thank you.</p>", ""},
		{"multipart/mixed/application/pdf", string(pdf), "impact-statement-2026-Q3.pdf"},
	}
	if len(parts) != len(want) {
		t.Fatalf("got %d parts, want %d: %+v", len(parts), len(want), parts)
	}
	for i, w := range want {
		p := parts[i]
		if p.path != w.path {
			t.Errorf("part %d is %s, want %s", i, p.path, w.path)
		}
		body := string(p.body)
		if strings.HasPrefix(p.mediaType, "text/") { // text travels with CRLF line ends
			body = strings.ReplaceAll(body, "\r\n", "\n")
		}
		if body != w.body {
			t.Errorf("part %d (%s) body = %q, want %q", i, p.path, p.body, w.body)
		}
		if p.filename != w.filename {
			t.Errorf("part %d filename = %q, want %q", i, p.filename, w.filename)
		}
	}
	if parts[2].disposition != "attachment" {
		t.Errorf("PDF disposition = %q, want attachment", parts[2].disposition)
	}

	// The same Message-ID again replaces the file: resending an attempt is idempotent.
	m := letter(id)
	m.Subject = "second"
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("after resend the outbox holds %d files, want 1", len(entries))
	}
}

func TestFileTransportRelativeDirAndNames(t *testing.T) {
	t.Chdir(t.TempDir())
	s := MustOpen(t, "file://outbox", mail.Options{})
	for _, c := range []struct{ id, file string }{
		{"stmt-a.2@impactd.example", "stmt-a.2@impactd.example.eml"},
		{"../../etc/passwd@x", "_.._etc_passwd@x.eml"},
		{"", ""}, // a random Message-ID, a file all the same
	} {
		if err := s.Send(context.Background(), letter(c.id)); err != nil {
			t.Fatalf("Send(%q): %v", c.id, err)
		}
		if c.file == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join("outbox", c.file)); err != nil {
			t.Errorf("Message-ID %q: %v", c.id, err)
		}
	}
	entries, err := os.ReadDir("outbox")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Errorf("outbox holds %d files, want 3", len(entries))
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("unexpected file %q", e.Name())
		}
	}
}

// TestHeaderInjection sends hostile names and subjects through the file
// transport and checks the written message has exactly the headers it should.
func TestHeaderInjection(t *testing.T) {
	dir := t.TempDir()
	s := MustOpen(t, "file://"+dir, mail.Options{})
	for i, c := range []struct {
		name string
		edit func(*mail.Message)
	}{
		{"display name", func(m *mail.Message) { m.ToName = "Eve\r\nBcc: x@y" }},
		{"display name LF only", func(m *mail.Message) { m.ToName = "Eve\nBcc: x@y" }},
		{"display name with quote", func(m *mail.Message) { m.ToName = `Eve" <x@y>, "Mallory` }},
		{"from name", func(m *mail.Message) { m.FromName = "Team\r\nBcc: x@y" }},
		{"subject", func(m *mail.Message) { m.Subject = "Hello\r\nBcc: x@y\r\n\r\nbody" }},
		{"attachment name", func(m *mail.Message) { m.Attachments[0].Name = "a.pdf\"\r\nBcc: x@y" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := letter("inj-" + string(rune('a'+i)) + "@impactd.example")
			c.edit(m)
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, m.MessageID+".eml"))
			if err != nil {
				t.Fatal(err)
			}
			msg, err := netmail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if len(msg.Header["Bcc"]) != 0 || bytes.Contains(raw, []byte("\nBcc:")) {
				t.Errorf("a Bcc header got in:\n%s", raw)
			}
			to, err := msg.Header.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Address != "zoe@example.org" {
				t.Errorf("To = %v (%v), want only zoe@example.org", to, err)
			}
			if got := len(msg.Header["Subject"]); got != 1 {
				t.Errorf("%d Subject headers", got)
			}
		})
	}
}

func TestBuildRefuses(t *testing.T) {
	s := MustOpen(t, "file://"+t.TempDir(), mail.Options{})
	for _, c := range []struct {
		name      string
		edit      func(*mail.Message)
		permanent bool
	}{
		{"bad recipient", func(m *mail.Message) { m.To = "not an address" }, true},
		{"recipient with name", func(m *mail.Message) { m.To = "Zoe <zoe@example.org>" }, true},
		{"recipient with CRLF", func(m *mail.Message) { m.To = "zoe@example.org\r\nBcc: x@y" }, true},
		{"bad from", func(m *mail.Message) { m.From = "letters" }, false},
		{"bad reply-to", func(m *mail.Message) { m.ReplyTo = "a@b@c" }, false},
		{"header value CRLF", func(m *mail.Message) { m.Headers["List-Unsubscribe"] = "<https://x>\r\nBcc: x@y" }, false},
		{"header name with colon", func(m *mail.Message) { m.Headers["Bcc: x@y\r\nX"] = "1" }, false},
		{"reserved header Bcc", func(m *mail.Message) { m.Headers["Bcc"] = "x@y" }, false},
		{"reserved header Content-Type", func(m *mail.Message) { m.Headers["content-type"] = "text/plain" }, false},
		{"message id with brackets", func(m *mail.Message) { m.MessageID = "<a@b>" }, false},
		{"message id with CRLF", func(m *mail.Message) { m.MessageID = "a@b\r\nBcc: x@y" }, false},
		{"attachment content type", func(m *mail.Message) { m.Attachments[0].ContentType = "application/pdf\r\nBcc: x@y" }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := letter("refused@impactd.example")
			c.edit(m)
			err := s.Send(context.Background(), m)
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if got := mail.IsPermanent(err); got != c.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, c.permanent)
			}
			if mail.IsTemporary(err) {
				t.Errorf("IsTemporary(%v) = true", err)
			}
			if strings.Contains(err.Error(), "zoe@example.org") {
				t.Errorf("error %q names the recipient", err)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		url  string
		want string // "" means Open succeeds; otherwise a part of the error
	}{
		{"file://" + dir, ""},
		{"file://" + dir + "/new/sub", ""},
		{"smtp://relay.example.org", ""},
		{"smtp://relay.example.org:25?tls=none", ""},
		{"smtp://user:pass@relay.example.org:587?tls=required", ""},
		{"smtp://user:pass@relay.example.org:587?tls=opportunistic&pool=8", ""},
		{"smtp://us%40er:p%40ss%3Aword@relay.example.org", ""},
		{"smtps://user:pass@relay.example.org", ""},
		{"smtps://user:pass@relay.example.org:2465?insecure_skip_verify=1", ""},
		{"smtp://[::1]:2525", ""},

		{"", "no scheme"},
		{"relay.example.org:587", "IMPACTD_SMTP_URL"},
		{"http://relay.example.org", `unknown scheme "http"`},
		{"file://", "needs a directory"},
		{"file://" + dir + "?x=1", "takes no options"},
		{"smtp://", "needs a host"},
		{"smtp://user:hunter2@:587", "needs a host"},
		{"smtp://relay.example.org:0", "bad port"},
		{"smtp://relay.example.org:70000", "bad port"},
		{"smtp://user:hunter2@relay.example.org:abc", "invalid port"},
		{"smtp://relay.example.org/inbox", "unexpected path"},
		{"smtp://relay.example.org?tls=maybe", `tls="maybe"`},
		{"smtp://relay.example.org?tsl=none", `unknown option "tsl"`},
		{"smtp://relay.example.org?insecure_skip_verify=yes", "insecure_skip_verify"},
		{"smtp://relay.example.org?pool=0", "pool"},
		{"smtp://relay.example.org?pool=1000", "pool"},
		{"smtps://relay.example.org?tls=none", "always TLS"},
	} {
		t.Run(c.url, func(t *testing.T) {
			s, err := mail.Open(c.url, mail.Options{})
			if c.want == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want error containing %q", c.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || !strings.Contains(msg, "IMPACTD_SMTP_URL") {
				t.Errorf("error %q should contain %q and name IMPACTD_SMTP_URL", msg, c.want)
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("error %q shows the password", msg)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"smtp://user:secret@relay.example.org:587", "smtp://user:xxxxx@relay.example.org:587"},
		{"smtps://us%40er:p%40ss@relay.example.org?tls=required", "smtps://us%40er:xxxxx@relay.example.org?tls=required"},
		{"smtp://user@relay.example.org", "smtp://user@relay.example.org"},
		{"smtp://relay.example.org:25", "smtp://relay.example.org:25"},
		{"file://outbox", "file://outbox"},
		{"smtp://user:hunter2@relay.example.org:abc", "smtp://user:xxxxx@relay.example.org:abc"}, // does not parse
		{"", ""},
	} {
		if got := mail.Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestClosedFileSenderAndCancelledContext(t *testing.T) {
	s := MustOpen(t, "file://"+t.TempDir(), mail.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, letter("c@impactd.example")); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %v, want context.Canceled", err)
	}
}

func mustBase64(tb testing.TB, raw []byte) []byte {
	tb.Helper()
	b, err := base64.StdEncoding.DecodeString(string(raw)) // ignores line breaks
	if err != nil {
		tb.Fatalf("base64: %v", err)
	}
	return b
}

func mustQP(tb testing.TB, raw []byte) []byte {
	tb.Helper()
	b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	if err != nil {
		tb.Fatalf("quoted-printable: %v", err)
	}
	return b
}
