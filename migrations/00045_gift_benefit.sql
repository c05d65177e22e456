-- What a donor received in exchange for a gift (issue 12): a description
-- and its good-faith value in minor units of the gift's currency, from the
-- payment's metadata (benefit_description, benefit_value). The annual
-- statement's US written acknowledgment describes it and, for a payment of
-- more than $75, gives the quid-pro-quo disclosure. The description is free
-- text from the donation form, so erasure blanks it (store/erase.go).

-- +goose Up
ALTER TABLE donations ADD COLUMN benefit_description TEXT NOT NULL DEFAULT '';
ALTER TABLE donations ADD COLUMN benefit_value BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE donations DROP COLUMN benefit_value;
ALTER TABLE donations DROP COLUMN benefit_description;
