// Package mail builds the letters' emails and hands them to a transport: an
// SMTP relay (through github.com/wneessen/go-mail, with STARTTLS, auth and
// connection reuse) or a directory of .eml files for the demo and local use.
package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email, built by the caller.
type Message struct {
	From, FromName, ReplyTo string
	To, ToName              string
	Subject                 string
	Text, HTML              string // multipart/alternative: text first, HTML second
	Attachments             []Attachment
	MessageID               string            // without angle brackets; stable per statement and attempt
	Headers                 map[string]string // extra headers, e.g. List-Unsubscribe
	Date                    time.Time         // zero: now
}

// Attachment is a file attached to a message.
type Attachment struct {
	Name, ContentType string
	Data              []byte
}

// Sender sends messages. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m *Message) error
	Close() error
}

// Options tune the SMTP transport.
type Options struct {
	HelloName string
	Timeout   time.Duration // per SMTP dial and command; default 30s
}

// SendError is a failed delivery with the mail server's answer.
type SendError struct {
	Temporary bool   // worth retrying later
	Code      int    // SMTP reply code, 0 when there was no reply (network error)
	Reply     string // the server's text, or the network error
}

func (e *SendError) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	if e.Code != 0 {
		return fmt.Sprintf("mail: %s failure: %d %s", kind, e.Code, e.Reply)
	}
	return fmt.Sprintf("mail: %s failure: %s", kind, e.Reply)
}

// IsTemporary reports whether a Send error may succeed if tried again later:
// network failures, timeouts and 4xx replies.
func IsTemporary(err error) bool {
	var se *SendError
	if errors.As(err, &se) {
		return se.Temporary
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

// IsPermanent reports whether a Send error will never succeed: 5xx replies
// and invalid addresses.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && !se.Temporary
}

// Open returns the transport named by an IMPACTD_SMTP_URL value.
func Open(rawURL string, opts Options) (Sender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("IMPACTD_SMTP_URL %q: %w", Redact(rawURL), err)
	}
	switch u.Scheme {
	case "file":
		dir := u.Host + u.Path // file://outbox (relative) or file:///var/mail (absolute)
		if dir == "" {
			return nil, fmt.Errorf("IMPACTD_SMTP_URL %q: file:// needs a directory, e.g. file://outbox", rawURL)
		}
		return &fileSender{dir: dir}, nil
	case "smtp", "smtps":
		return newSMTP(u, opts)
	}
	return nil, fmt.Errorf("IMPACTD_SMTP_URL %q: scheme must be smtp, smtps or file", Redact(rawURL))
}

// Redact returns the URL with its password hidden, for logs and errors.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return rawURL
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

var headerName = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

// oneLine removes line breaks: a hostile name or subject must not be able to
// add a header ("Eve\r\nBcc: …").
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }), " ")
}

// build turns a Message into a go-mail message.
func build(m *Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(oneLine(m.FromName), m.From); err != nil {
		return nil, &SendError{Reply: "invalid From address: " + err.Error()}
	}
	if err := msg.AddToFormat(oneLine(m.ToName), m.To); err != nil {
		return nil, &SendError{Reply: "invalid recipient address"}
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return nil, &SendError{Reply: "invalid Reply-To address"}
		}
	}
	msg.Subject(oneLine(m.Subject))
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(oneLine(m.MessageID))
	} else {
		msg.SetMessageID()
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	msg.SetDateWithValue(date)
	for k, v := range m.Headers {
		if !headerName.MatchString(k) {
			return nil, &SendError{Reply: fmt.Sprintf("invalid header name %q", k)}
		}
		msg.SetGenHeaderPreformatted(gomail.Header(k), oneLine(v))
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		msg.AttachReadSeeker(oneLine(filepath.Base(a.Name)), bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct)))
	}
	return msg, nil
}

// fileSender writes one .eml file per message.
type fileSender struct{ dir string }

var unsafeFile = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (f *fileSender) Send(_ context.Context, m *Message) error {
	msg, err := build(m)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return fmt.Errorf("mail: write message: %w", err)
	}
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	name := unsafeFile.ReplaceAllString(m.MessageID, "_")
	if name == "" {
		name = strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	path := filepath.Join(f.dir, name+".eml")
	tmp, err := os.CreateTemp(f.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("mail: outbox: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	return nil
}

func (f *fileSender) Close() error { return nil }

// smtpSender keeps one connection to the relay and reuses it for every
// message; after any error it reconnects for the next one.
type smtpSender struct {
	mu        sync.Mutex
	client    *gomail.Client
	connected bool
}

func newSMTP(u *url.URL, opts Options) (*smtpSender, error) {
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("IMPACTD_SMTP_URL %q: needs a host, e.g. smtp://user:pass@smtp.example.org:587", Redact(u.String()))
	}
	port := 587
	if u.Scheme == "smtps" {
		port = 465
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("IMPACTD_SMTP_URL %q: bad port %q", Redact(u.String()), p)
		}
		port = n
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	o := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(timeout)}
	if opts.HelloName != "" {
		o = append(o, gomail.WithHELO(opts.HelloName))
	}
	q := u.Query()
	if u.Scheme == "smtps" {
		o = append(o, gomail.WithSSL())
	} else {
		switch q.Get("tls") {
		case "", "opportunistic":
			o = append(o, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
		case "required":
			o = append(o, gomail.WithTLSPolicy(gomail.TLSMandatory))
		case "none":
			o = append(o, gomail.WithTLSPolicy(gomail.NoTLS))
		default:
			return nil, fmt.Errorf("IMPACTD_SMTP_URL: tls=%q: want opportunistic, required or none", q.Get("tls"))
		}
	}
	if u.User != nil && u.User.Username() != "" {
		pass, _ := u.User.Password()
		o = append(o, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	c, err := gomail.NewClient(host, o...)
	if err != nil {
		return nil, fmt.Errorf("IMPACTD_SMTP_URL %q: %w", Redact(u.String()), err)
	}
	return &smtpSender{client: c}, nil
}

func (s *smtpSender) Send(ctx context.Context, m *Message) error {
	msg, err := build(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		if err := s.client.DialWithContext(ctx); err != nil {
			return classify(err)
		}
		s.connected = true
	}
	if err := s.client.Send(msg); err != nil {
		_ = s.client.Close()
		s.connected = false
		return classify(err)
	}
	return nil
}

func (s *smtpSender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return nil
	}
	s.connected = false
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("mail: close: %w", err)
	}
	return nil
}

var replyCode = regexp.MustCompile(`\b([245])(\d\d)[ -]`)

// classify turns go-mail and network errors into a SendError with the
// server's reply code when there is one.
func classify(err error) error {
	var ge *gomail.SendError
	if errors.As(err, &ge) {
		code := ge.ErrorCode()
		if code == 0 {
			if m := replyCode.FindStringSubmatch(err.Error()); m != nil {
				code, _ = strconv.Atoi(m[1] + m[2])
			}
		}
		if code >= 500 {
			return &SendError{Code: code, Reply: err.Error()}
		}
		return &SendError{Temporary: true, Code: code, Reply: err.Error()}
	}
	return &SendError{Temporary: true, Reply: err.Error()}
}
