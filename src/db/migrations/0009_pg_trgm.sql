-- Trigram indexes for the license lists' text search (key fragments, names, partners, pool
-- names: "contains", case-insensitive). pg_trgm ships with PostgreSQL (contrib) and is a trusted
-- extension, so the database's owner may create it; PGlite loads it in openDatabase.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
