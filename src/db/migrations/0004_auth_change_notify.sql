-- Every change that can narrow what a bearer token may do (a token revoked or deleted, a role
-- binding added, changed or removed, an account changed) notifies 'licensepool_auth' when it
-- commits, so every process drops its cache of authentications (src/modules/auth/auth.cache.ts).
-- A trigger, not the writers, so no code path can forget it.
CREATE FUNCTION licensepool_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('licensepool_auth', TG_TABLE_NAME);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER tokens_auth_changed AFTER UPDATE OR DELETE ON "tokens" FOR EACH STATEMENT EXECUTE FUNCTION licensepool_auth_changed();
--> statement-breakpoint
CREATE TRIGGER role_bindings_auth_changed AFTER INSERT OR UPDATE OR DELETE ON "role_bindings" FOR EACH STATEMENT EXECUTE FUNCTION licensepool_auth_changed();
--> statement-breakpoint
CREATE TRIGGER accounts_auth_changed AFTER UPDATE OR DELETE ON "accounts" FOR EACH STATEMENT EXECUTE FUNCTION licensepool_auth_changed();
--> statement-breakpoint
CREATE TRIGGER pools_auth_changed AFTER DELETE ON "pools" FOR EACH STATEMENT EXECUTE FUNCTION licensepool_auth_changed();
