// Package smtpsink is a real SMTP server (github.com/emersion/go-smtp) that
// accepts every message on loopback and remembers only who it was for and
// its Message-ID. The kill test counts duplicates with it, and the
// benchmark sends 100,000 letters to it without storing 4 GB of PDFs.
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
	"time"

	"github.com/emersion/go-smtp"
)

// Sink is a running SMTP server.
type Sink struct {
	srv  *smtp.Server
	ln   net.Listener
	mu   sync.Mutex
	byTo map[string]int
	byID map[string]int
	n    int
}

// Start listens on 127.0.0.1 on a free port.
func Start() (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtp sink: %w", err)
	}
	s := &Sink{ln: ln, byTo: map[string]int{}, byID: map[string]int{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sink: s}, nil }))
	s.srv.Domain = "sink.localhost"
	s.srv.ErrorLog = log.New(io.Discard, "", 0) // killed clients reset connections; that is the point
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = 16 << 20
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is host:port.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// URL is an IMPACTD_SMTP_URL for the sink.
func (s *Sink) URL() string { return "smtp://" + s.Addr() + "?tls=none" }

// Close stops the server.
func (s *Sink) Close() error { return s.srv.Close() }

// Count is the number of messages accepted.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// ByRecipient returns how many messages each address received.
func (s *Sink) ByRecipient() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.byTo))
	for k, v := range s.byTo {
		out[k] = v
	}
	return out
}

// ByMessageID returns how many times each Message-ID arrived.
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
	sink *Sink
	to   []string
}

func (s *session) AuthPlain(string, string) error       { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
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
	if _, err := io.Copy(io.Discard, br); err != nil {
		return err
	}
	id := strings.Trim(h.Get("Message-Id"), "<> ")
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	s.sink.n++
	s.sink.byID[id]++
	for _, to := range s.to {
		s.sink.byTo[to]++
	}
	return nil
}

func (s *session) Reset()        { s.to = nil }
func (s *session) Logout() error { return nil }
