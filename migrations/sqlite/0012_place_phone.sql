-- A drop-in place's own phone number (shown on its public card), empty when none.
ALTER TABLE places ADD COLUMN phone TEXT NOT NULL DEFAULT '';
