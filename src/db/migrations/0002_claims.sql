CREATE TABLE "claims" (
	"id" text PRIMARY KEY NOT NULL,
	"root_id" text NOT NULL,
	"pool_id" text NOT NULL,
	"member_id" text NOT NULL,
	"meter_key" text NOT NULL,
	"quantity" integer NOT NULL,
	"kind" text NOT NULL,
	"fingerprint" text,
	"status" text NOT NULL,
	"expires_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	"end_reason" text,
	CONSTRAINT "claims_quantity_positive" CHECK ("claims"."quantity" > 0)
);
--> statement-breakpoint
CREATE INDEX "claims_pool_idx" ON "claims" USING btree ("pool_id","id");--> statement-breakpoint
CREATE INDEX "claims_member_idx" ON "claims" USING btree ("member_id","meter_key") WHERE status = 'live';--> statement-breakpoint
CREATE INDEX "claims_expiry_idx" ON "claims" USING btree ("expires_at") WHERE status = 'live';