package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

const (
	defaultTimeout = 30 * time.Second
	defaultPool    = 4
	maxPool        = 64
)

// smtpSender sends through one relay over a small pool of connections that
// stay open between messages: a quarterly run sends 10^5 letters, and a new
// TCP + TLS + AUTH handshake for each would dominate the run.
//
// go-mail's Client is used for what it does well — dialling, EHLO, the
// STARTTLS policy — but not for the transaction itself: its SendError does
// not unwrap to the server's reply and prints the recipient's address, so
// MAIL, RCPT and DATA are driven here on the smtp.Client it returns.
type smtpSender struct {
	client    *gomail.Client
	host      string
	user      string
	pass      string
	plainAuth bool // PLAIN/LOGIN allowed without TLS (tls=none)
	timeout   time.Duration

	// sem holds a token per Send in progress, so at most cap(sem)
	// connections exist: a Send dials only when no idle one is left.
	sem       chan struct{}
	mu        sync.Mutex
	idle      []*smtpConn // last in, first out: the warmest connection goes first
	done      chan struct{}
	closeOnce sync.Once
	dials     atomic.Int64 // connections made, for tests
}

// smtpConn is one connection to the relay.
type smtpConn struct {
	c    *smtp.Client
	raw  net.Conn // the TCP (or TLS) connection under c, for deadlines
	used bool     // has carried a transaction: may have gone stale
}

// rawConnKey carries a *connBox through the dial context, so the dialler
// can hand back the connection go-mail does not expose.
type rawConnKey struct{}

func openSMTP(u *url.URL, opts Options) (*smtpSender, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s %q: %s", envVar, u.Redacted(), fmt.Sprintf(format, a...))
	}
	host := u.Hostname()
	if host == "" {
		return nil, bad("needs a host, e.g. %s://user:pass@smtp.example.org", u.Scheme)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") {
		return nil, bad("unexpected path: want %s://user:pass@host:port", u.Scheme)
	}
	port := 587
	if u.Scheme == "smtps" {
		port = 465
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, bad("bad port %q", p)
		}
		port = n
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}

	q := u.Query()
	for k := range q {
		switch k {
		case "tls", "insecure_skip_verify", "pool":
		default:
			return nil, bad("unknown option %q (known: tls, insecure_skip_verify, pool)", k)
		}
	}
	tlsConf := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	switch v := q.Get("insecure_skip_verify"); v {
	case "", "0", "false":
	case "1", "true":
		tlsConf.InsecureSkipVerify = true
	default:
		return nil, bad("insecure_skip_verify=%q: want 1 or 0", v)
	}
	pool := defaultPool
	if v := q.Get("pool"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPool {
			return nil, bad("pool=%q: want 1 to %d connections", v, maxPool)
		}
		pool = n
	}

	s := &smtpSender{host: host, timeout: timeout, sem: make(chan struct{}, pool), done: make(chan struct{})}
	o := []gomail.Option{
		gomail.WithPort(port), gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(tlsConf), gomail.WithDialContextFunc(s.dialer(u.Scheme == "smtps", tlsConf)),
	}
	if opts.HelloName != "" {
		o = append(o, gomail.WithHELO(opts.HelloName))
	}
	if u.Scheme == "smtps" {
		if t := q.Get("tls"); t != "" {
			return nil, bad("tls=%q: smtps:// is always TLS; use smtp:// for STARTTLS", t)
		}
		o = append(o, gomail.WithSSL())
	} else {
		switch t := q.Get("tls"); t {
		case "", "opportunistic":
			o = append(o, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
		case "required":
			o = append(o, gomail.WithTLSPolicy(gomail.TLSMandatory))
		case "none":
			o = append(o, gomail.WithTLSPolicy(gomail.NoTLS))
			s.plainAuth = true
		default:
			return nil, bad("tls=%q: want opportunistic, required or none", t)
		}
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	c, err := gomail.NewClient(host, o...)
	if err != nil {
		return nil, bad("%v", err)
	}
	s.client = c
	return s, nil
}

// dialer opens the TCP (or, for smtps, TLS) connection, records it for
// dial, and bounds the greeting, EHLO, STARTTLS and AUTH by the timeout:
// go-mail only bounds the dial itself, and a relay that accepts but never
// greets would otherwise hang a worker for good.
func (s *smtpSender) dialer(implicitTLS bool, conf *tls.Config) gomail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{Timeout: s.timeout}
		var conn net.Conn
		var err error
		if implicitTLS {
			conn, err = (&tls.Dialer{NetDialer: d, Config: conf}).DialContext(ctx, network, addr)
		} else {
			conn, err = d.DialContext(ctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		if err := conn.SetDeadline(time.Now().Add(s.timeout)); err != nil {
			conn.Close()
			return nil, err
		}
		if b, ok := ctx.Value(rawConnKey{}).(*connBox); ok {
			b.set(conn)
		}
		return conn, nil
	}
}

// dial opens and authenticates a new connection.
func (s *smtpSender) dial(ctx context.Context) (*smtpConn, error) {
	box := &connBox{}
	stop := context.AfterFunc(ctx, box.abort)
	defer stop()
	c, err := s.client.DialToSMTPClientWithContext(context.WithValue(ctx, rawConnKey{}, box))
	op := opConnect
	if err == nil && s.user != "" {
		op = opAuth
		err = c.Auth(&relayAuth{user: s.user, pass: s.pass, host: s.host, allowPlain: s.plainAuth})
	}
	if err != nil {
		// go-mail leaves the socket open when the greeting, EHLO or
		// STARTTLS fails.
		if raw := box.get(); raw != nil {
			raw.Close()
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, replyError(op, err, nil)
	}
	s.dials.Add(1)
	return &smtpConn{c: c, raw: box.get()}, nil
}

// connBox passes the connection out of go-mail's dial, and lets a context
// that ends mid-handshake break it.
type connBox struct {
	mu      sync.Mutex
	conn    net.Conn
	aborted bool
}

func (b *connBox) set(c net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.conn = c
	if b.aborted {
		c.SetDeadline(time.Unix(1, 0))
	}
}

func (b *connBox) get() net.Conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.conn
}

func (b *connBox) abort() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.aborted = true
	if b.conn != nil {
		b.conn.SetDeadline(time.Unix(1, 0))
	}
}

// Send takes an idle connection (or dials one, or waits for a free slot),
// sends the message, and gives the connection back unless it broke. A
// connection that was idle in the pool may have been closed by the relay
// meanwhile; when MAIL FROM fails on it without a reply, or with 421, nothing
// has been accepted yet, so the message is tried once more on a fresh
// connection.
func (s *smtpSender) Send(ctx context.Context, m *Message) error {
	b, err := build(m)
	if err != nil {
		return err
	}
	select {
	case s.sem <- struct{}{}:
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return &SendError{Op: opConnect, Temporary: true, Err: ctx.Err()}
	}
	defer func() { <-s.sem }()
	select {
	case <-s.done:
		return ErrClosed
	default:
	}
	conn := s.take()
	defer func() { s.give(conn) }()

	for attempt := 0; ; attempt++ {
		if conn == nil {
			if conn, err = s.dial(ctx); err != nil {
				return err
			}
		}
		stale := conn.used
		conn.used = true
		se, keep := s.transact(ctx, conn, b, m)
		if se == nil {
			return nil
		}
		if !keep {
			conn.close(s.timeout)
			conn = nil
		}
		if attempt == 0 && stale && ctx.Err() == nil && se.Op == opMailFrom && !keep {
			continue // conn is nil: dial afresh
		}
		return se
	}
}

// transact runs MAIL, RCPT and DATA for one message. keep reports whether
// the connection is still in a known state and may carry the next message.
func (s *smtpSender) transact(ctx context.Context, conn *smtpConn, b *built, m *Message) (se *SendError, keep bool) {
	stop := context.AfterFunc(ctx, func() { conn.raw.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() { // ctx ended during the transaction: the deadline is gone, so is the connection
			keep = false
			if se != nil {
				se = &SendError{Op: se.Op, Temporary: true, Err: ctx.Err()}
			}
		}
	}()
	// A reply error leaves the session usable once RSET has cleared the
	// transaction; anything else (timeout, reset, half-written DATA) does not.
	fail := func(op string, err error) (*SendError, bool) {
		e := replyError(op, err, m)
		if e.Code == 0 || e.Code == 421 {
			return e, false
		}
		s.deadline(conn)
		return e, conn.c.Reset() == nil
	}
	s.deadline(conn)
	if err := conn.c.Mail(angle(b.env.from)); err != nil {
		return fail(opMailFrom, err)
	}
	s.deadline(conn)
	if err := conn.c.Rcpt(angle(b.env.to)); err != nil {
		return fail(opRcptTo, err)
	}
	s.deadline(conn)
	w, err := conn.c.Data()
	if err != nil {
		return fail(opData, err)
	}
	s.deadline(conn)
	if _, err := bytes.NewReader(b.raw).WriteTo(w); err != nil {
		return replyError(opData, err, m), false
	}
	s.deadline(conn)
	if err := w.Close(); err != nil {
		e := replyError(opEndData, err, m)
		// After the final dot the transaction is over either way.
		return e, e.Code != 0 && e.Code != 421
	}
	return nil, true
}

// deadline gives the next command the full timeout.
func (s *smtpSender) deadline(conn *smtpConn) {
	conn.raw.SetDeadline(time.Now().Add(s.timeout))
}

// angle formats an envelope address, "<zoe@example.org>".
func angle(addr string) string { return (&mail.Address{Address: addr}).String() }

// close says QUIT and drops the connection; a relay that already hung up is
// not an error worth reporting.
func (c *smtpConn) close(timeout time.Duration) {
	c.raw.SetDeadline(time.Now().Add(timeout))
	_ = c.c.Quit()
	c.raw.Close()
}

// take returns the most recently used idle connection, or nil.
func (s *smtpSender) take() *smtpConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.idle)
	if n == 0 {
		return nil
	}
	c := s.idle[n-1]
	s.idle = s.idle[:n-1]
	return c
}

// give puts a working connection back.
func (s *smtpSender) give(c *smtpConn) {
	if c == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idle = append(s.idle, c)
}

// Close waits for sends in progress, then closes every idle connection.
func (s *smtpSender) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		for range cap(s.sem) {
			s.sem <- struct{}{}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.idle {
			c.close(s.timeout)
		}
		s.idle = nil
	})
	return nil
}

// relayAuth picks PLAIN, else LOGIN, from what the relay offers. A new one
// is made per connection, because LOGIN keeps state between steps.
type relayAuth struct {
	user, pass, host string
	allowPlain       bool // send the password without TLS (tls=none)
	next             smtp.Auth
}

var errNoMechanism = errors.New("relay offers neither PLAIN nor LOGIN")

// Start chooses the mechanism. go-mail's PLAIN and LOGIN refuse to send the
// password over a connection without TLS unless the relay is on localhost;
// tls=none lifts that.
func (a *relayAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	offered := map[string]bool{}
	for _, m := range server.Auth {
		offered[m] = true
	}
	switch {
	case offered["PLAIN"]:
		a.next = smtp.PlainAuth("", a.user, a.pass, a.host, a.allowPlain)
	case offered["LOGIN"]:
		a.next = smtp.LoginAuth(a.user, a.pass, a.host, a.allowPlain)
	default:
		return "", nil, errNoMechanism
	}
	return a.next.Start(server)
}

// Next continues the chosen mechanism.
func (a *relayAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.next.Next(fromServer, more)
}
