-- Partners repeat across many licenses (hundreds of partners, thousands of licenses each). With
-- the default statistics a text filter on the partner is guessed several times too common, and
-- PostgreSQL reads a sort index row by row instead of the trigram index. Keeping up to 1,000
-- most common values makes the guess exact for up to 1,000 partners (drizzle-kit does not model
-- statistics targets, hence a migration of its own).
ALTER INDEX "licenses_partner_trgm" ALTER COLUMN 1 SET STATISTICS 1000;
