package mail

// Dials reports how many connections an SMTP sender has opened, so tests can
// see that connections are reused.
func Dials(s Sender) int64 {
	if ss, ok := s.(*smtpSender); ok {
		return ss.dials.Load()
	}
	return 0
}
