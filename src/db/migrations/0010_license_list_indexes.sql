CREATE INDEX "licenses_root_until_idx" ON "licenses" USING btree ("root_id",coalesce("valid_until", 'infinity'::timestamptz),"id");--> statement-breakpoint
CREATE INDEX "licenses_root_created_idx" ON "licenses" USING btree ("root_id","created_at","id");--> statement-breakpoint
CREATE INDEX "licenses_root_status_idx" ON "licenses" USING btree ("root_id","status","id");--> statement-breakpoint
CREATE INDEX "licenses_root_status_until_idx" ON "licenses" USING btree ("root_id","status",coalesce("valid_until", 'infinity'::timestamptz),"id");--> statement-breakpoint
CREATE INDEX "licenses_root_status_created_idx" ON "licenses" USING btree ("root_id","status","created_at","id");--> statement-breakpoint
CREATE INDEX "licenses_running_until_idx" ON "licenses" USING btree ((CASE WHEN "status" IN ('pending_provision', 'pending_start', 'in_use', 'access_denied') THEN "valid_until" END));--> statement-breakpoint
CREATE INDEX "licenses_key_trgm" ON "licenses" USING gin (replace("key", '-', '') gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "licenses_name_trgm" ON "licenses" USING gin ("name" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "licenses_partner_trgm" ON "licenses" USING gin (("request" ->> 'partner') gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "pools_name_trgm" ON "pools" USING gin ("name" gin_trgm_ops);