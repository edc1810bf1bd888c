-- An index for each foreign key that had none (tests/it/storage.rs,
-- `every_foreign_key_has_an_index`, keeps it so).
--
-- Read: the public fiche action gathers its indicators, documents, meeting
-- decisions and ideas by action; without an index on `action_id` each of
-- them scanned the table of the whole instance. With 200,000 indicators
-- stored (a few hundred territories), the fiche's statement took 9.6 ms on
-- SQLite against 0.26 ms on the demo.
-- Written: deleting a row scans, for each foreign key that points at it
-- with ON DELETE CASCADE or SET NULL (and for the check of the others),
-- the child table; erasing a user (RGPD) scanned the whole audit log.
CREATE INDEX IF NOT EXISTS indicators_action ON indicators (action_id);
CREATE INDEX IF NOT EXISTS documents_action ON documents (action_id);
CREATE INDEX IF NOT EXISTS documents_territory ON documents (territory_id);
CREATE INDEX IF NOT EXISTS meeting_decisions_action ON meeting_decisions (action_id);
CREATE INDEX IF NOT EXISTS ideas_action ON ideas (action_id, status);
CREATE INDEX IF NOT EXISTS ideas_merged_into ON ideas (merged_into);
CREATE INDEX IF NOT EXISTS territory_communes_commune ON territory_communes (insee_code);
CREATE INDEX IF NOT EXISTS password_resets_user ON password_resets (user_id);
CREATE INDEX IF NOT EXISTS audit_log_user ON audit_log (user_id);
CREATE INDEX IF NOT EXISTS places_commune ON places (insee_code);
CREATE INDEX IF NOT EXISTS dropin_series_place ON dropin_series (place_id);
CREATE INDEX IF NOT EXISTS dropin_exceptions_place ON dropin_exceptions (place_id);
CREATE INDEX IF NOT EXISTS event_sessions_place ON event_sessions (place_id);
CREATE INDEX IF NOT EXISTS contracts_evaluation_consultation ON contracts (evaluation_consultation_id);
CREATE INDEX IF NOT EXISTS actions_lead_org ON actions (lead_org_id);
CREATE INDEX IF NOT EXISTS people_organisation ON people (organisation_id);
CREATE INDEX IF NOT EXISTS budget_lines_funder ON budget_lines (funder_id);
CREATE INDEX IF NOT EXISTS meeting_attendance_member ON meeting_attendance (member_id);
CREATE INDEX IF NOT EXISTS questions_condition ON questions (cond_question_id);
CREATE INDEX IF NOT EXISTS answers_question ON answers (question_id);
CREATE INDEX IF NOT EXISTS panel_tokens_consultation ON panel_tokens (consultation_id);
CREATE INDEX IF NOT EXISTS change_proposals_author ON change_proposals (author_id);
CREATE INDEX IF NOT EXISTS diagnosis_consultations_consultation ON diagnosis_consultations (consultation_id);
CREATE INDEX IF NOT EXISTS evaluation_question_indicators_indicator ON evaluation_question_indicators (indicator_id);
CREATE INDEX IF NOT EXISTS slot_bookings_booked_by ON slot_bookings (booked_by);
CREATE INDEX IF NOT EXISTS activity_records_recorded_by ON activity_records (recorded_by);
