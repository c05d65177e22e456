// Package mail builds the letters' emails and hands them to a transport: an
// SMTP relay (through github.com/wneessen/go-mail, with STARTTLS, auth and a
// small pool of reused connections) or a directory of .eml files for the demo
// and local use.
//
// The package never logs. Errors it returns carry the relay's reply (code and
// text) so the caller can store it on the delivery record, but never a
// password, and the message's own addresses are blanked out of the reply text
// so an error that ends up in a log does not carry donor PII.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// Message is one email, built by the caller.
type Message struct {
	From, FromName, ReplyTo string
	To, ToName              string
	Subject                 string
	Text, HTML              string // multipart/alternative: text first, HTML second
	Attachments             []Attachment
	// MessageID is the Message-ID without angle brackets, e.g.
	// "stmt-<id>.<attempt>@impactd.example"; stable per statement and
	// attempt, so a resend of the same attempt is recognisably the same mail.
	// Empty: a random one is made.
	MessageID string
	// Headers are extra headers such as List-Unsubscribe; names that would
	// override the envelope or MIME structure (From, Bcc, Content-Type, …)
	// are refused.
	Headers map[string]string
	Date    time.Time // set from the caller's clock; zero means time.Now()
}

// Attachment is a file attached to a message, e.g. the statement PDF.
type Attachment struct {
	Name, ContentType string
	Data              []byte
}

// Sender sends messages. Implementations are safe for concurrent use.
type Sender interface {
	// Send delivers one message; its error is classified by IsTemporary and
	// IsPermanent.
	Send(ctx context.Context, m *Message) error
	// Close ends the sender's connections; Send fails with ErrClosed after it.
	Close() error
}

// Options tune the SMTP transport.
type Options struct {
	// HelloName is the name sent with EHLO; empty means the host name.
	HelloName string
	// Timeout bounds connecting and each SMTP command; zero means 30s.
	Timeout time.Duration
}

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("mail: sender is closed")

const envVar = "IMPACTD_SMTP_URL"

// Open returns the transport named by an IMPACTD_SMTP_URL value:
//
//	file://outbox, file:///var/mail/out   one .eml file per message in that directory
//	smtp://user:pass@host:port?tls=…      SMTP, port 587 by default; tls=opportunistic
//	                                      (default), required or none
//	smtps://user:pass@host:port           SMTP over implicit TLS, port 465 by default
//
// SMTP URLs also take insecure_skip_verify=1 (tests only) and pool=N, the
// most connections kept open to the relay at once (default 4). User and
// password are percent-decoded; PLAIN or LOGIN auth is used when a user is
// given, and only over TLS unless tls=none or the relay is on localhost.
func Open(rawURL string, opts Options) (Sender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %q: %w", envVar, Redact(rawURL), err)
	}
	switch u.Scheme {
	case "file":
		return openFile(u)
	case "smtp", "smtps":
		return openSMTP(u, opts)
	case "":
		return nil, fmt.Errorf("%s %q: no scheme: want smtp://, smtps:// or file://", envVar, Redact(rawURL))
	}
	return nil, fmt.Errorf("%s %q: unknown scheme %q: want smtp, smtps or file", envVar, Redact(rawURL), u.Scheme)
}

// userinfo finds the password of a URL that url.Parse refused.
var userinfo = regexp.MustCompile(`(//[^/@:]*):[^/@]*@`)

// Redact returns the URL with its password replaced by "xxxxx", for logs and
// errors. A URL that does not parse has anything that looks like a password
// blanked all the same.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return userinfo.ReplaceAllString(rawURL, "${1}:xxxxx@")
	}
	if _, ok := u.User.Password(); !ok {
		return rawURL
	}
	return u.Redacted()
}
