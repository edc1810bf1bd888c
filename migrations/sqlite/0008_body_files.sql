-- Files in a body's members' space (PDF, ODT, DOCX), beside the links: the
-- bytes are kept like the contract's documents (storage::documents::Store),
-- in `content` or on disk under `storage_key`. `url` stays '' for a file.
ALTER TABLE body_documents ADD COLUMN file_name TEXT;
ALTER TABLE body_documents ADD COLUMN media_type TEXT;
ALTER TABLE body_documents ADD COLUMN size INTEGER;
ALTER TABLE body_documents ADD COLUMN storage_key TEXT;
ALTER TABLE body_documents ADD COLUMN content BLOB;
