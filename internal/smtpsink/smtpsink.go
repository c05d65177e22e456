// Package smtpsink is a real SMTP server (github.com/emersion/go-smtp) on
// loopback that accepts messages — or refuses them at the stage a test
// chooses — and keeps only what is asked of it: counters, or also who each
// message was for and its Message-ID. The kill test and the run tests count
// duplicates with it; the benchmark sends a million letters to it and keeps
// only counters, so that its memory does not grow with the run.
package smtpsink

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options choose what the sink keeps and refuses. The zero value keeps
// counts per recipient and per Message-ID and accepts everything.
type Options struct {
	// CountOnly keeps only the number of messages and bytes: memory stays
	// flat however many are sent (the benchmark).
	CountOnly bool
	// Refuse, when set, is asked at every stage — "MAIL FROM" (addr is the
	// sender), "RCPT TO" (the recipient), "DATA" (the recipient, once the
	// message was read) — and a non-nil answer is the server's reply.
	Refuse func(stage, addr string) *smtp.SMTPError
	// Auth makes the server ask for AUTH PLAIN and answer it with this
	// function (nil: accept any credentials, and do not require them).
	Auth func(user, pass string) *smtp.SMTPError
	// Addr is where to listen, e.g. a port a test found closed before
	// (a relay that comes back); "" is a free port on 127.0.0.1.
	Addr string
}

// Sink is a running SMTP server.
type Sink struct {
	srv   *smtp.Server
	ln    net.Listener
	opts  Options
	n     atomic.Int64
	bytes atomic.Int64
	mu    sync.Mutex
	byTo  map[string]int
	byID  map[string]int
}

// Start listens on 127.0.0.1 on a free port and keeps per-recipient and
// per-Message-ID counts.
func Start() (*Sink, error) { return StartWith(Options{}) }

// StartWith listens on o.Addr, or on 127.0.0.1 on a free port.
func StartWith(o Options) (*Sink, error) {
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtp sink: %w", err)
	}
	s := &Sink{ln: ln, opts: o}
	if !o.CountOnly {
		s.byTo, s.byID = map[string]int{}, map[string]int{}
	}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sink: s}, nil }))
	s.srv.Domain = "sink.localhost"
	s.srv.ErrorLog = log.New(io.Discard, "", 0) // killed clients reset connections; that is the point
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = 16 << 20
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// SetRefuse changes the refusal function while the sink runs (nil: accept).
func (s *Sink) SetRefuse(f func(stage, addr string) *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Refuse = f
}

func (s *Sink) refuse(stage, addr string) error {
	s.mu.Lock()
	f := s.opts.Refuse
	s.mu.Unlock()
	if f == nil {
		return nil
	}
	if e := f(stage, addr); e != nil {
		return e
	}
	return nil
}

// Addr is host:port.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// URL is an IMPACTD_SMTP_URL for the sink.
func (s *Sink) URL() string { return "smtp://" + s.Addr() + "?tls=none" }

// Close stops the server.
func (s *Sink) Close() error { return s.srv.Close() }

// Count is the number of messages accepted.
func (s *Sink) Count() int { return int(s.n.Load()) }

// Bytes is the size of the messages accepted, added up.
func (s *Sink) Bytes() int64 { return s.bytes.Load() }

// ByRecipient returns how many messages each address received (empty when
// the sink counts only).
func (s *Sink) ByRecipient() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.byTo))
	for k, v := range s.byTo {
		out[k] = v
	}
	return out
}

// ByMessageID returns how many times each Message-ID arrived (empty when
// the sink counts only).
func (s *Sink) ByMessageID() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.byID))
	for k, v := range s.byID {
		out[k] = v
	}
	return out
}

type session struct {
	sink   *Sink
	to     []string
	authed bool
}

func (s *session) AuthMechanisms() []string {
	if s.sink.opts.Auth == nil {
		return nil
	}
	return []string{"PLAIN"}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if e := s.sink.opts.Auth(user, pass); e != nil {
			return e
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.sink.opts.Auth != nil && !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	return s.sink.refuse("MAIL FROM", from)
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.sink.refuse("RCPT TO", to); err != nil {
		return err
	}
	s.to = append(s.to, strings.ToLower(to))
	return nil
}

// Data reads the headers for the Message-ID and discards the rest. The
// message counts only once it has been read in full, as a relay would.
func (s *session) Data(r io.Reader) error {
	br := bufio.NewReader(r)
	h, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	n, err := io.Copy(io.Discard, br)
	if err != nil {
		return err
	}
	for _, to := range s.to {
		if err := s.sink.refuse("DATA", to); err != nil {
			return err
		}
	}
	s.sink.n.Add(1)
	s.sink.bytes.Add(n)
	if s.sink.opts.CountOnly {
		return nil
	}
	id := strings.Trim(h.Get("Message-Id"), "<> ")
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	s.sink.byID[id]++
	for _, to := range s.to {
		s.sink.byTo[to]++
	}
	return nil
}

func (s *session) Reset()        { s.to = nil }
func (s *session) Logout() error { return nil }
