package mail_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"impactd/internal/mail"
	"impactd/internal/smtpsink"
)

// TestClassify reads the fault from the stage and the codes only: the
// replies' texts are the same misleading "mailbox unavailable" in each row.
func TestClassify(t *testing.T) {
	const text = "mailbox unavailable"
	se := func(op string, code int, enhanced string) error {
		return &mail.SendError{Op: op, Code: code, Enhanced: enhanced, Reply: text, Temporary: code < 500 || op == "connect" || op == "AUTH"}
	}
	tests := []struct {
		name string
		err  error
		want mail.Fault
	}{
		{"accepted", nil, mail.FaultNone},
		{"RCPT 550 without an enhanced code", se("RCPT TO", 550, ""), mail.FaultRecipient},
		{"RCPT 550 5.1.1 unknown user", se("RCPT TO", 550, "5.1.1"), mail.FaultRecipient},
		{"RCPT 552 5.2.2 mailbox full", se("RCPT TO", 552, "5.2.2"), mail.FaultRecipient},
		{"RCPT 550 5.0.0 unspecific", se("RCPT TO", 550, "5.0.0"), mail.FaultRecipient},
		{"RCPT 554 5.7.1 relaying denied", se("RCPT TO", 554, "5.7.1"), mail.FaultMessage},
		{"RCPT 553 5.1.8 bad sender domain", se("RCPT TO", 553, "5.1.8"), mail.FaultRelay},
		{"RCPT 451 greylisted", se("RCPT TO", 451, "4.7.1"), mail.FaultTemporary},
		{"MAIL FROM 550 5.7.1 sender refused", se("MAIL FROM", 550, "5.7.1"), mail.FaultRelay},
		{"MAIL FROM 550 5.1.1 (still the sender)", se("MAIL FROM", 550, "5.1.1"), mail.FaultRelay},
		{"MAIL FROM 451", se("MAIL FROM", 451, "4.3.0"), mail.FaultTemporary},
		{"DATA 554 5.6.0 content refused", se("DATA", 554, "5.6.0"), mail.FaultMessage},
		{"end of DATA 550 5.1.1 (after RCPT was accepted)", se("end of DATA", 550, "5.1.1"), mail.FaultRecipient},
		{"end of DATA 552 5.3.4 too big", se("end of DATA", 552, "5.3.4"), mail.FaultMessage},
		{"end of DATA 451", se("end of DATA", 451, ""), mail.FaultTemporary},
		{"AUTH 535 5.7.8 bad credentials", se("AUTH", 535, "5.7.8"), mail.FaultRelay},
		{"AUTH 454 temporary", se("AUTH", 454, "4.7.0"), mail.FaultUnreachable},
		{"greeting 554", se("connect", 554, "5.7.1"), mail.FaultRelay},
		{"greeting 421", se("connect", 421, ""), mail.FaultUnreachable},
		{"connection refused", &mail.SendError{Op: "connect", Temporary: true, Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, mail.FaultUnreachable},
		{"DNS lookup failed", &mail.SendError{Op: "connect", Temporary: true, Err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "smtp.example.invalid", IsNotFound: true}}}, mail.FaultUnreachable},
		{"timed out while connecting", &mail.SendError{Op: "connect", Temporary: true, Err: &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}}, mail.FaultUnreachable},
		{"no greeting in time", &mail.SendError{Op: "connect", Temporary: true, Err: fmt.Errorf("read: %w", os.ErrDeadlineExceeded)}, mail.FaultUnreachable},
		{"connection reset at MAIL FROM", &mail.SendError{Op: "MAIL FROM", Temporary: true, Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, mail.FaultUnreachable},
		{"connection closed at RCPT TO", &mail.SendError{Op: "RCPT TO", Temporary: true, Err: io.EOF}, mail.FaultUnreachable},
		{"MAIL FROM 421 shutting down", se("MAIL FROM", 421, "4.3.2"), mail.FaultUnreachable},
		{"RCPT 421 closing", se("RCPT TO", 421, ""), mail.FaultUnreachable},
		{"connection reset mid-DATA", &mail.SendError{Op: "DATA", Temporary: true, Err: io.ErrUnexpectedEOF}, mail.FaultTemporary},
		{"TLS spoken to a plain server", &mail.SendError{Op: "connect", Temporary: true, Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}, mail.FaultRelay},
		{"certificate not trusted", &mail.SendError{Op: "connect", Temporary: true, Err: fmt.Errorf("tls: %w", x509.UnknownAuthorityError{})}, mail.FaultRelay},
		{"STARTTLS required, not offered", &mail.SendError{Op: "connect", Temporary: true, Err: errors.New("server does not support STARTTLS")}, mail.FaultRelay},
		{"invalid address", &mail.SendError{Op: "address", Err: errors.New("no @")}, mail.FaultRecipient},
		{"sender closed", mail.ErrClosed, mail.FaultTemporary},
	}
	for _, tt := range tests {
		if got := mail.Classify(tt.err); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestClassifyThroughARelay sends through a real SMTP server that refuses
// at the stage each case chooses, and reads the fault from what the client
// returns.
func TestClassifyThroughARelay(t *testing.T) {
	refuse := func(stage string, code int, enh smtp.EnhancedCode) func(string, string) *smtp.SMTPError {
		return func(s, _ string) *smtp.SMTPError {
			if s != stage {
				return nil
			}
			return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: "mailbox unavailable"}
		}
	}
	tests := []struct {
		name   string
		opts   smtpsink.Options
		url    string // "" is the sink's, without credentials
		want   mail.Fault
		enhan  string
		stored int // messages the sink kept
	}{
		{"accepted", smtpsink.Options{}, "", mail.FaultNone, "", 1},
		{"sender refused", smtpsink.Options{Refuse: refuse("MAIL FROM", 550, smtp.EnhancedCode{5, 7, 1})}, "", mail.FaultRelay, "5.7.1", 0},
		{"mailbox unknown", smtpsink.Options{Refuse: refuse("RCPT TO", 550, smtp.EnhancedCode{5, 1, 1})}, "", mail.FaultRecipient, "5.1.1", 0},
		{"recipient refused, no enhanced code", smtpsink.Options{Refuse: refuse("RCPT TO", 550, smtp.NoEnhancedCode)}, "", mail.FaultRecipient, "", 0},
		{"relaying denied", smtpsink.Options{Refuse: refuse("RCPT TO", 554, smtp.EnhancedCode{5, 7, 1})}, "", mail.FaultMessage, "5.7.1", 0},
		{"content refused", smtpsink.Options{Refuse: refuse("DATA", 554, smtp.EnhancedCode{5, 6, 0})}, "", mail.FaultMessage, "5.6.0", 0},
		{"greylisted", smtpsink.Options{Refuse: refuse("RCPT TO", 451, smtp.EnhancedCode{4, 7, 1})}, "", mail.FaultTemporary, "4.7.1", 0},
		{"credentials refused", smtpsink.Options{Auth: func(string, string) *smtp.SMTPError {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}}, "user:pw", mail.FaultRelay, "5.7.8", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink, err := smtpsink.StartWith(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer sink.Close()
			u := sink.URL()
			if tt.url != "" {
				u = "smtp://" + tt.url + "@" + sink.Addr() + "?tls=none"
			}
			s := MustOpen(t, u, mail.Options{Timeout: 5 * time.Second})
			err = s.Send(context.Background(), to("zoe@example.org"))
			if got := mail.Classify(err); got != tt.want {
				t.Errorf("fault %s, want %s (%v)", got, tt.want, err)
			}
			var se *mail.SendError
			if tt.enhan != "" && (!errors.As(err, &se) || se.Enhanced != tt.enhan) {
				t.Errorf("enhanced code of %v: want %s", err, tt.enhan)
			}
			if sink.Count() != tt.stored {
				t.Errorf("sink kept %d messages, want %d", sink.Count(), tt.stored)
			}
		})
	}
	t.Run("relay unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		s := MustOpen(t, "smtp://"+addr+"?tls=none", mail.Options{Timeout: time.Second})
		if got := mail.Classify(s.Send(context.Background(), to("zoe@example.org"))); got != mail.FaultUnreachable {
			t.Errorf("fault %s, want unreachable", got)
		}
	})
	t.Run("relay that never greets", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close() // held open, silent, until the test ends
			}
		}()
		s := MustOpen(t, "smtp://"+l.Addr().String()+"?tls=none", mail.Options{Timeout: 300 * time.Millisecond})
		err = s.Send(context.Background(), to("zoe@example.org"))
		if got := mail.Classify(err); got != mail.FaultUnreachable {
			t.Errorf("fault %s, want unreachable (%v)", got, err)
		}
	})
	tlsCases := []struct {
		name string
		tls  bool // the server speaks TLS, with a certificate nobody trusts
	}{{"TLS certificate not trusted", true}, {"TLS spoken to a plain server", false}}
	for _, tc := range tlsCases {
		t.Run(tc.name, func(t *testing.T) {
			var addr string
			if tc.tls {
				cert := httptest.NewTLSServer(http.NotFoundHandler())
				defer cert.Close()
				l, err := tls.Listen("tcp", "127.0.0.1:0", cert.TLS)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				go func() {
					for {
						c, err := l.Accept()
						if err != nil {
							return
						}
						go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
					}
				}()
				addr = l.Addr().String()
			} else {
				sink, err := smtpsink.Start()
				if err != nil {
					t.Fatal(err)
				}
				defer sink.Close()
				addr = sink.Addr()
			}
			s := MustOpen(t, "smtps://"+addr, mail.Options{Timeout: 2 * time.Second})
			err := s.Send(context.Background(), to("zoe@example.org"))
			if got := mail.Classify(err); got != mail.FaultRelay {
				t.Errorf("fault %s, want relay (%v)", got, err)
			}
		})
	}
}
