package supporter

import (
	"net/http"

	"impactd/internal/address"
	"impactd/internal/domain"
	"impactd/internal/store"
)

// channelData is the preferences page's choice of letters by email or by
// post.
type channelData struct {
	Channel string // domain.ChannelEmail or domain.ChannelPost
	// HasAddress: a postal address a letter can go to is on file
	// (address.Address.Usable); post needs one.
	HasAddress bool
	HasEmail   bool
	Done       string // "email" or "post" right after a change
}

func channelOf(d *domain.Donor, done string) channelData {
	ch := d.Channel
	if ch != domain.ChannelPost {
		ch = domain.ChannelEmail
	}
	return channelData{Channel: ch, HasAddress: address.ParseStored(d.Address).Usable(), HasEmail: d.Email != "", Done: done}
}

// SetChannel sets how the supporter's letters come: by email or by post
// (channel=email|post). Post needs a postal address on file; the page says
// so and the choice is refused without one. Like SetPreferences, the
// signed link is the authority; the change is audited.
func (p *Pages) SetChannel() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := p.load(w, r)
		if !ok {
			return
		}
		channel := r.PostFormValue("channel")
		switch {
		case channel != domain.ChannelEmail && channel != domain.ChannelPost:
			p.message(w, http.StatusBadRequest, "Choose an option", "Please choose by email or by post on the preferences page.")
			return
		case channel == domain.ChannelPost && !address.ParseStored(d.Donor.Address).Usable():
			p.message(w, http.StatusUnprocessableEntity, "No postal address",
				"We have no postal address for you with its country and postcode, so we cannot post your letters. Please contact us to give us your address.")
			return
		case d.Donor.Status != domain.DonorActive || d.Donor.MergedInto != "":
			p.message(w, http.StatusConflict, "Nothing to change", "There is nothing to change here. If you think this is wrong, please contact us.")
			return
		}
		now := p.Clock.Now().Unix()
		err := p.Store.InTx(r.Context(), func(tx *store.Tx) error {
			if err := tx.SetDonorChannel(r.Context(), d.Donor.ID, channel, now); err != nil {
				return err
			}
			return tx.Audit(r.Context(), &store.AuditEntry{Actor: "supporter", Action: "donor.channel", Subject: d.Donor.ID,
				Reason: "preferences page", Detail: "letters by " + channel, CreatedAt: now})
		})
		if err != nil {
			p.fail(w, r, err)
			return
		}
		p.Log.Info("supporter preferences", "donor_id", d.Donor.ID, "channel", channel)
		donor, err := p.Store.Donor(r.Context(), d.Donor.ID)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		p.render(w, http.StatusOK, "preferences", view{Title: "Your letter preferences", Token: r.PathValue("token"),
			Data: prefsFor(donor, false, channel)})
	})
}
