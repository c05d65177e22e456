package mail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"regexp"
	"strings"
)

// SendError is a failed delivery. Its text names the SMTP step and carries
// the relay's reply, e.g. "mail: RCPT TO: 550 5.1.1 mailbox unavailable",
// fit to be stored on the delivery record.
type SendError struct {
	// Op is the step that failed: "connect" (dial, greeting, EHLO,
	// STARTTLS), "AUTH", "MAIL FROM", "RCPT TO", "DATA", "end of DATA" or
	// "address".
	Op string
	// Code is the SMTP reply code, 0 when the relay did not answer
	// (connection refused, reset, timeout).
	Code int
	// Reply is the relay's reply text after the code, with the message's own
	// addresses replaced by [from] and [to].
	Reply string
	// Temporary reports whether the same message may go through later.
	Temporary bool
	// Err is the underlying error.
	Err error
}

// Error returns the step and the relay's reply, or the network error.
func (e *SendError) Error() string {
	switch {
	case e.Code != 0:
		return fmt.Sprintf("mail: %s: %d %s", e.Op, e.Code, e.Reply)
	case e.Err != nil:
		return fmt.Sprintf("mail: %s: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("mail: %s: %s", e.Op, e.Reply)
}

// Unwrap returns the underlying error.
func (e *SendError) Unwrap() error { return e.Err }

// IsTemporary reports whether a Send error may succeed if the message is
// tried again later: connection refused, reset or timed out, 4xx replies, and
// any failure while setting up the session with the relay (greeting, TLS,
// AUTH — those are the relay's or our configuration's fault, not the
// recipient's, so giving up on the donor would be wrong).
func IsTemporary(err error) bool {
	var se *SendError
	if errors.As(err, &se) {
		return se.Temporary
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

// IsPermanent reports whether a Send error will not go away by retrying the
// same message: 5xx replies to MAIL FROM, RCPT TO or DATA (e.g. 550 mailbox
// unavailable) and a recipient address that is not valid. Errors that are
// neither temporary nor permanent (a bad From address or extra header, a
// closed sender) are bugs or configuration mistakes.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && !se.Temporary
}

// replyError classifies what went wrong in step op of the transaction for m.
// While setting up the session (connect, AUTH) every failure is temporary; after it, 5xx replies are
// permanent and everything else (4xx, no reply at all) temporary.
func replyError(op string, err error, m *Message) *SendError {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return &SendError{
			Op: op, Code: tp.Code, Reply: scrub(tp.Msg, m),
			Temporary: op == opConnect || op == opAuth || tp.Code < 500, Err: err,
		}
	}
	return &SendError{Op: op, Temporary: true, Err: err}
}

// Steps of setting up a session with the relay; their failures are always
// temporary.
const (
	opConnect = "connect"
	opAuth    = "AUTH"
)

var blanks = regexp.MustCompile(`\s+`)

// scrub flattens a (possibly multi-line) reply and blanks the message's
// addresses out of it: relays like to echo them ("<zoe@…>: Recipient address
// rejected") and the error may end up in a log.
func scrub(reply string, m *Message) string {
	reply = blanks.ReplaceAllString(strings.TrimSpace(reply), " ")
	if m == nil {
		return reply
	}
	for _, a := range []struct{ addr, label string }{{m.To, "[to]"}, {m.From, "[from]"}} {
		if a.addr == "" {
			continue
		}
		re := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(a.addr))
		reply = re.ReplaceAllLiteralString(reply, a.label)
	}
	return reply
}
