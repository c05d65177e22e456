package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"syscall"
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
	// Enhanced is the reply's enhanced status code (RFC 3463), e.g.
	// "5.1.1", when the relay gave one; "" otherwise.
	Enhanced string
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
			Op: op, Code: tp.Code, Reply: scrub(tp.Msg, m), Enhanced: enhancedCode(tp.Code, tp.Msg),
			Temporary: op == opConnect || op == opAuth || tp.Code < 500, Err: err,
		}
	}
	return &SendError{Op: op, Temporary: true, Err: err}
}

// Steps of a send. Failures while setting up the session (connect, AUTH)
// are always temporary for the message: they are the relay's or our
// configuration's fault, not the recipient's.
const (
	opConnect  = "connect"
	opAuth     = "AUTH"
	opMailFrom = "MAIL FROM"
	opRcptTo   = "RCPT TO"
	opData     = "DATA"
	opEndData  = "end of DATA"
	opAddress  = "address" // the recipient address is not valid; nothing was sent
)

// enhanced matches an enhanced status code at the start of a reply's text:
// class.subject.detail (RFC 3463 §2; RFC 2034 puts it first).
var enhanced = regexp.MustCompile(`^([245])\.(\d{1,3})\.(\d{1,3})(?:\s|$)`)

// enhancedCode returns the reply's enhanced status code when its class
// agrees with the reply code's, as RFC 2034 requires; "" otherwise.
func enhancedCode(code int, msg string) string {
	m := enhanced.FindStringSubmatch(strings.TrimSpace(msg))
	if m == nil || m[1] != strconv.Itoa(code/100) {
		return ""
	}
	return m[1] + "." + m[2] + "." + m[3]
}

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

// Fault says whose problem a failed send is, and so what a run does about
// it. It is read from the stage that failed (SendError.Op), the reply code
// and the enhanced status code, never from the reply's text.
type Fault int

// Faults.
const (
	// FaultNone: the message was accepted.
	FaultNone Fault = iota
	// FaultTemporary: this message may go through later (a 4xx reply, a
	// connection cut mid-transaction); retry it after a back-off.
	FaultTemporary
	// FaultUnreachable: the relay could not be reached for now — no
	// session could be set up (connection refused, DNS, reset or timed out
	// while connecting, a 4xx greeting), or the connection broke before the
	// message was handed over (no reply, or 421 "closing", to MAIL FROM or
	// RCPT TO). Nothing
	// of the message reached the relay, and it is not the recipient's
	// doing: retry without counting an attempt; a few failed tries in a row
	// mean the relay is down.
	FaultUnreachable
	// FaultRelay: the relay refuses us, not the recipient — a 5xx to the
	// greeting, EHLO, AUTH or MAIL FROM (the sender), a TLS failure, a
	// relay that lacks what the configuration requires (STARTTLS, an AUTH
	// mechanism). Nobody is bounced; the run pauses until someone fixes it.
	FaultRelay
	// FaultRecipient: the recipient's mailbox was refused for good — a 5xx
	// to RCPT TO (with no enhanced code, or 5.0.x, 5.1.x or 5.2.x), or an
	// enhanced code 5.1.x (bad destination mailbox) or 5.2.x (mailbox
	// status) at DATA. Only this bounces the address.
	FaultRecipient
	// FaultMessage: this message was refused for good, but not because of
	// the mailbox: a 5xx to RCPT TO whose enhanced code is about policy or
	// security (5.7.x, e.g. "relaying denied"), or a 5xx to DATA. Nobody is
	// bounced; many in a row across recipients mean the relay refuses
	// everything, and the run pauses.
	FaultMessage
)

var faultNames = [...]string{"none", "temporary", "unreachable", "relay", "recipient", "message"}

// String names the fault.
func (f Fault) String() string {
	if int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

// Classify says whose problem a Send error is.
func Classify(err error) Fault {
	if err == nil {
		return FaultNone
	}
	var se *SendError
	if !errors.As(err, &se) {
		if errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || isNetwork(err) {
			return FaultTemporary
		}
		return FaultMessage // a message we could not build, e.g. a bad header
	}
	switch se.Op {
	case opConnect, opAuth:
		switch {
		case se.Code >= 500:
			return FaultRelay
		case se.Code >= 400:
			return FaultUnreachable
		case isTLS(se.Err):
			return FaultRelay
		case isNetwork(se.Err) || errors.Is(se.Err, context.Canceled) || errors.Is(se.Err, context.DeadlineExceeded):
			return FaultUnreachable
		}
		// Neither a reply nor the network: the relay lacks what the
		// configuration needs (STARTTLS with tls=required, an AUTH mechanism).
		return FaultRelay
	case opMailFrom:
		if se.Code >= 500 {
			return FaultRelay
		}
		if (se.Code == 0 && isNetwork(se.Err)) || se.Code == 421 {
			return FaultUnreachable // the relay went away (421: it is closing) before it took anything
		}
	case opRcptTo:
		if (se.Code == 0 && isNetwork(se.Err)) || se.Code == 421 {
			return FaultUnreachable
		}
		if se.Code >= 500 {
			switch enhancedSubject(se.Enhanced) {
			case "", "0", "1", "2": // none, unspecific, addressing, mailbox
				if se.Enhanced == "5.1.7" || se.Enhanced == "5.1.8" {
					return FaultRelay // the sender's address is what is bad
				}
				return FaultRecipient
			}
			return FaultMessage // routing, protocol, content, policy (5.7.1 relaying denied)
		}
	case opData, opEndData:
		if se.Code >= 500 {
			switch enhancedSubject(se.Enhanced) {
			case "1", "2":
				if se.Enhanced == "5.1.7" || se.Enhanced == "5.1.8" {
					return FaultRelay
				}
				return FaultRecipient
			}
			return FaultMessage
		}
	case opAddress:
		return FaultRecipient // the address itself is not valid
	}
	if se.Temporary || se.Code == 0 {
		return FaultTemporary
	}
	return FaultMessage
}

// enhancedSubject is the subject digit(s) of a 5.x.y code ("1" for 5.1.1),
// or "" when there is none.
func enhancedSubject(code string) string {
	parts := strings.Split(code, ".")
	if len(parts) != 3 || parts[0] != "5" {
		return ""
	}
	return parts[1]
}

// isNetwork reports whether err is the network failing (refused, reset,
// timed out, closed), as opposed to a reply or a TLS refusal.
func isNetwork(err error) bool {
	var ne net.Error
	var op *net.OpError
	return errors.As(err, &ne) || errors.As(err, &op) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed)
}

// isTLS reports whether err is a TLS handshake or certificate failure.
func isTLS(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	var al tls.AlertError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) ||
		errors.As(err, &rh) || errors.As(err, &al)
}
