package mail

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"

	gomail "github.com/wneessen/go-mail"
)

// envelope is what the relay is told in MAIL FROM and RCPT TO.
type envelope struct{ from, to string }

// built is a message ready for any transport.
type built struct {
	env       envelope
	messageID string // without angle brackets
	raw       []byte // the whole RFC 5322 message, CRLF line ends
}

// reserved are headers the Message fields or go-mail write; an extra header
// must not replace or duplicate them (a second To, a Bcc, a Content-Type
// that breaks the MIME structure).
var reserved = map[string]bool{
	"from": true, "sender": true, "to": true, "cc": true, "bcc": true, "reply-to": true,
	"subject": true, "date": true, "message-id": true, "return-path": true,
	"mime-version": true, "content-type": true, "content-transfer-encoding": true,
	"content-disposition": true, "content-id": true, "received": true,
}

// headerName is an RFC 5322 field name, restricted to the usual letters.
var headerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// messageID is the id-left@id-right of RFC 5322 without the angle brackets,
// in the printable ASCII that needs no quoting.
var messageID = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_{|}~.-]+@[A-Za-z0-9!#$%&'*+/=?^_{|}~.\[\]-]+$`)

// oneLine makes a display name or subject safe for a header: line breaks and
// other control characters become spaces, so a donor called
// "Eve\r\nBcc: x@y" gets a letter addressed to "Eve Bcc: x@y" and no Bcc.
// Names come from Stripe and donors type them, so they are cleaned, not
// refused: refusing would cost the donor their letter.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// address checks a bare address (no display name).
func address(field, addr string) (string, error) {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(addr) {
		// The address itself is left out: errors may be logged.
		return "", fmt.Errorf("mail: build message: %s is not a valid address", field)
	}
	return a.Address, nil
}

// build turns a Message into the bytes to send. Errors about the recipient
// are permanent SendErrors; errors about what the caller supplied (From,
// headers, Message-ID) are plain errors, because retrying will not fix them
// and neither will giving up on the donor.
func build(m *Message) (*built, error) {
	if m == nil {
		return nil, errors.New("mail: build message: nil message")
	}
	to, err := address("To", m.To)
	if err != nil {
		return nil, &SendError{Op: opAddress, Reply: "invalid recipient address", Err: err}
	}
	from, err := address("From", m.From)
	if err != nil {
		return nil, err
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	// FromFormat and AddToFormat would paste the name into `"%s" <%s>`,
	// which a name holding a quote can break; mail.Address quotes and
	// RFC 2047-encodes properly.
	msg.FromMailAddress(&mail.Address{Name: oneLine(m.FromName), Address: from})
	msg.ToMailAddress(&mail.Address{Name: oneLine(m.ToName), Address: to})
	if m.ReplyTo != "" {
		rt, err := address("Reply-To", m.ReplyTo)
		if err != nil {
			return nil, err
		}
		msg.ReplyToMailAddress(&mail.Address{Address: rt})
	}
	msg.Subject(oneLine(m.Subject))

	id := m.MessageID
	if id == "" {
		msg.SetMessageID()
		id = strings.Trim(msg.GetMessageID(), "<>")
	} else if !messageID.MatchString(id) {
		return nil, fmt.Errorf("mail: build message: Message-ID %q: want local@domain without angle brackets or spaces", id)
	}
	msg.SetMessageIDWithValue(id)

	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	msg.SetDateWithValue(date)

	for k, v := range m.Headers {
		if !headerName.MatchString(k) || reserved[strings.ToLower(k)] {
			return nil, fmt.Errorf("mail: build message: header name %q not allowed", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("mail: build message: header %s: value holds a line break", k)
		}
		msg.SetGenHeader(gomail.Header(k), v)
	}

	switch {
	case m.HTML == "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	case m.Text == "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}

	for i, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || strings.ContainsAny(ct, "\r\n") {
			return nil, fmt.Errorf("mail: build message: attachment %d: bad content type %q", i, ct)
		}
		name := fileName(a.Name)
		if name == "" {
			name = fmt.Sprintf("attachment-%d", i+1)
		}
		msg.AttachReadSeeker(name, bytes.NewReader(a.Data),
			gomail.WithFileContentType(gomail.ContentType(mime.FormatMediaType(mt, params))))
	}

	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("mail: build message: %w", err)
	}
	return &built{env: envelope{from: from, to: to}, messageID: id, raw: buf.Bytes()}, nil
}

// fileName keeps the last path element of an attachment name and drops
// characters that mean something in a header or a file system.
func fileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || strings.ContainsRune(`"<>:|?*`, r) {
			return -1
		}
		return r
	}, name)
	return strings.Trim(strings.TrimSpace(name), ".")
}
