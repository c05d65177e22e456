package store

import (
	"context"
	"fmt"
	"strings"

	"impactd/internal/domain"
)

// Staff is a staff member who signs in to the console. The password is
// stored only as a bcrypt hash.
type Staff struct {
	ID           string `db:"id"`
	Email        string `db:"email"` // normalised, lower case
	Name         string `db:"name"`
	Role         string `db:"role"`
	PasswordHash string `db:"password_hash"`
	CreatedAt    int64  `db:"created_at"`
	UpdatedAt    int64  `db:"updated_at"`
	DisabledAt   int64  `db:"disabled_at"`
}

const staffCols = `id, email, name, role, password_hash, created_at, updated_at, disabled_at`

// CreateStaff adds a staff member; it sets ID. An email already in use is a conflict.
func (q Q) CreateStaff(ctx context.Context, s *Staff) error {
	if _, err := q.StaffByEmail(ctx, s.Email); err == nil {
		return domain.Errorf(domain.ECONFLICT, "a staff member with this email already exists")
	} else if domain.ErrorCode(err) != domain.ENOTFOUND {
		return fmt.Errorf("create staff: %w", err)
	}
	s.ID = NewID("stf")
	_, err := q.exec(ctx, `INSERT INTO staff (`+staffCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.Email, s.Name, s.Role, s.PasswordHash, s.CreatedAt, s.UpdatedAt, s.DisabledAt)
	if err != nil {
		return fmt.Errorf("create staff: %w", err)
	}
	return nil
}

// StaffByEmail returns the staff member with a normalised email address,
// disabled or not.
func (q Q) StaffByEmail(ctx context.Context, email string) (*Staff, error) {
	var s Staff
	if err := q.get(ctx, &s, `SELECT `+staffCols+` FROM staff WHERE email = ?`, email); err != nil {
		return nil, fmt.Errorf("staff by email: %w", notFound(err, "staff member"))
	}
	return &s, nil
}

// SetStaffPassword replaces a staff member's password hash.
func (q Q) SetStaffPassword(ctx context.Context, id, hash string, now int64) error {
	if _, err := q.exec(ctx, `UPDATE staff SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, now, id); err != nil {
		return fmt.Errorf("set staff password: %w", err)
	}
	return nil
}

// CreateSession stores a sign-in session under the hash of its cookie value.
func (q Q) CreateSession(ctx context.Context, idHash, staffID string, now, expires int64) error {
	_, err := q.exec(ctx, `INSERT INTO staff_sessions (id, staff_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		idHash, staffID, now, expires)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionStaff returns the enabled staff member of a live session.
func (q Q) SessionStaff(ctx context.Context, idHash string, now int64) (*Staff, error) {
	var s Staff
	err := q.get(ctx, &s, `SELECT s.id, s.email, s.name, s.role, s.password_hash, s.created_at, s.updated_at, s.disabled_at
		FROM staff_sessions x JOIN staff s ON s.id = x.staff_id
		WHERE x.id = ? AND x.expires_at > ? AND s.disabled_at = 0`, idHash, now)
	if err != nil {
		return nil, fmt.Errorf("session: %w", notFound(err, "session"))
	}
	return &s, nil
}

// DeleteSession ends a session; ending one that does not exist is not an error.
func (q Q) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := q.exec(ctx, `DELETE FROM staff_sessions WHERE id = ?`, idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions that ended before now.
func (q Q) DeleteExpiredSessions(ctx context.Context, now int64) error {
	if _, err := q.exec(ctx, `DELETE FROM staff_sessions WHERE expires_at <= ?`, now); err != nil {
		return fmt.Errorf("delete expired sessions: %w", err)
	}
	return nil
}

// DonorNames returns the names of the donors with these ids ("" for an
// erased or merged one), for saying them in the audit log.
func (q Q) DonorNames(ctx context.Context, ids []string) (map[string]string, error) {
	names := map[string]string{}
	var uniq []any
	for _, id := range ids {
		if _, ok := names[id]; !ok {
			names[id] = ""
			uniq = append(uniq, id)
		}
	}
	for lo := 0; lo < len(uniq); lo += 100 {
		part := uniq[lo:min(lo+100, len(uniq))]
		var rows []struct {
			ID   string `db:"id"`
			Name string `db:"name"`
		}
		if err := q.selectAll(ctx, &rows, `SELECT id, name FROM donors WHERE id IN (?`+strings.Repeat(`, ?`, len(part)-1)+`)`, part...); err != nil {
			return nil, fmt.Errorf("donor names: %w", err)
		}
		for _, r := range rows {
			names[r.ID] = r.Name
		}
	}
	return names, nil
}

// DonorEmails returns the email addresses linked to a donor.
func (q Q) DonorEmails(ctx context.Context, donorID string) ([]string, error) {
	var es []string
	if err := q.selectAll(ctx, &es, `SELECT email FROM donor_emails WHERE donor_id = ? ORDER BY created_at, email`, donorID); err != nil {
		return nil, fmt.Errorf("donor emails: %w", err)
	}
	return es, nil
}

// DonorStatement is a statement with its newest delivery state, for lists.
type DonorStatement struct {
	domain.Statement
	DryRun         int    `db:"dry_run"`
	DeliveryStatus string `db:"delivery_status"` // "" when never sent
	DeliveryDetail string `db:"delivery_detail"`
}

// StatementsForDonor returns a donor's statements, newest first, with the
// state of each one's latest email attempt.
func (q Q) StatementsForDonor(ctx context.Context, donorID string) ([]DonorStatement, error) {
	var ss []DonorStatement
	err := q.selectAll(ctx, &ss, `SELECT s.id, s.run_id, s.donor_id, s.series, s.period, s.snapshot, s.content_hash, s.created_at, r.dry_run,
			COALESCE(d.status, '') AS delivery_status, COALESCE(d.detail, '') AS delivery_detail
		FROM statements s JOIN runs r ON r.id = s.run_id
		LEFT JOIN deliveries d ON d.statement_id = s.id
			AND d.attempt = (SELECT MAX(attempt) FROM deliveries WHERE statement_id = s.id)
		WHERE s.donor_id = ? ORDER BY s.period DESC, s.created_at DESC, s.id DESC`, donorID)
	if err != nil {
		return nil, fmt.Errorf("statements for donor: %w", err)
	}
	return ss, nil
}

// RecentRuns returns the newest runs first.
func (q Q) RecentRuns(ctx context.Context, limit int) ([]domain.Run, error) {
	var rs []domain.Run
	if err := q.selectAll(ctx, &rs, `SELECT `+runCols+` FROM runs ORDER BY started_at DESC, id DESC LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("recent runs: %w", err)
	}
	return rs, nil
}

// FailedDelivery is a statement of a run whose latest email attempt failed,
// with the mail server's answer.
type FailedDelivery struct {
	StatementID string `db:"statement_id"`
	DonorID     string `db:"donor_id"`
	Status      string `db:"status"`
	Detail      string `db:"detail"`
	Attempt     int    `db:"attempt"`
	UpdatedAt   int64  `db:"updated_at"`
}

// FailedDeliveries lists a run's statements whose latest attempt failed, at most limit.
func (q Q) FailedDeliveries(ctx context.Context, runID string, limit int) ([]FailedDelivery, error) {
	var fs []FailedDelivery
	err := q.selectAll(ctx, &fs, `SELECT s.id AS statement_id, s.donor_id, d.status, d.detail, d.attempt, d.updated_at
		FROM statements s JOIN deliveries d ON d.statement_id = s.id
		WHERE s.run_id = ? AND d.status IN (?, ?)
			AND d.attempt = (SELECT MAX(attempt) FROM deliveries WHERE statement_id = s.id)
		ORDER BY s.id LIMIT ?`, runID, domain.DeliveryTempFailed, domain.DeliveryPermFailed, limit)
	if err != nil {
		return nil, fmt.Errorf("failed deliveries: %w", err)
	}
	return fs, nil
}

// StatementsByHashPrefix returns the statements whose content hash starts
// with a hex prefix (at least 8 characters), for checking a verification code.
func (q Q) StatementsByHashPrefix(ctx context.Context, prefix string, limit int) ([]domain.Statement, error) {
	if len(prefix) < 8 || strings.Trim(prefix, "0123456789abcdef") != "" {
		return nil, domain.Errorf(domain.EINVALID, "hash prefix must be at least 8 lower-case hex digits")
	}
	// A range instead of LIKE, so that the index is used in any collation:
	// every hex digit sorts below "g".
	var ss []domain.Statement
	err := q.selectAll(ctx, &ss, `SELECT `+statementCols+` FROM statements WHERE content_hash >= ? AND content_hash < ?
		ORDER BY created_at LIMIT ?`, prefix, prefix+"g", limit)
	if err != nil {
		return nil, fmt.Errorf("statements by hash: %w", err)
	}
	return ss, nil
}

// NewestSentStatement returns the most recently emailed statement of a
// live donor, for showing one supporter's page (impactd demo --serve).
func (q Q) NewestSentStatement(ctx context.Context) (*domain.Statement, error) {
	var s domain.Statement
	err := q.get(ctx, &s, `SELECT s.id, s.run_id, s.donor_id, s.series, s.period, s.snapshot, s.content_hash, s.created_at
		FROM deliveries d JOIN statements s ON s.id = d.statement_id JOIN donors o ON o.id = s.donor_id
		WHERE d.status = ? AND o.merged_into = '' AND o.status = ?
		ORDER BY d.updated_at DESC, s.id LIMIT 1`, domain.DeliverySent, domain.DonorActive)
	if err != nil {
		return nil, fmt.Errorf("newest sent statement: %w", notFound(err, "sent statement"))
	}
	return &s, nil
}

// RecentImpactUpdates returns every version of every impact update, newest period first.
func (q Q) RecentImpactUpdates(ctx context.Context, limit int) ([]domain.ImpactUpdate, error) {
	var us []domain.ImpactUpdate
	err := q.selectAll(ctx, &us, `SELECT `+updateCols+` FROM impact_updates ORDER BY period DESC, programme, version DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("impact updates: %w", err)
	}
	return us, nil
}

// SampleDonor returns a live donor with a gift between from and to, for
// previewing a letter of that period.
func (q Q) SampleDonor(ctx context.Context, from, to int64) (*domain.Donor, error) {
	var d domain.Donor
	err := q.get(ctx, &d, `SELECT `+donorCols+` FROM donors WHERE status = ? AND merged_into = '' AND id IN
		(SELECT donor_id FROM donations WHERE created >= ? AND created < ?) ORDER BY id LIMIT 1`, domain.DonorActive, from, to)
	if err != nil {
		return nil, fmt.Errorf("sample donor: %w", notFound(err, "donor with gifts in the period"))
	}
	return &d, nil
}
