CREATE TABLE "idempotency_keys" (
	"account_id" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"status_code" integer,
	"body" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_account_id_key_pk" PRIMARY KEY("account_id","key")
);
--> statement-breakpoint
CREATE TABLE "tickets" (
	"id" text PRIMARY KEY NOT NULL,
	"root_id" text NOT NULL,
	"pool_id" text NOT NULL,
	"member_id" text NOT NULL,
	"meter_key" text NOT NULL,
	"quantity" integer NOT NULL,
	"ttl_seconds" integer NOT NULL,
	"fingerprint" text,
	"status" text NOT NULL,
	"hold_claim_id" text,
	"held_until" timestamp with time zone,
	"claim_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "claims" ADD COLUMN "ttl_seconds" integer;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "max_lease_seconds" integer;--> statement-breakpoint
CREATE INDEX "idempotency_keys_created_idx" ON "idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "tickets_queue_idx" ON "tickets" USING btree ("pool_id","meter_key","id") WHERE status = 'waiting';--> statement-breakpoint
CREATE INDEX "tickets_member_idx" ON "tickets" USING btree ("member_id","id");--> statement-breakpoint
CREATE INDEX "tickets_root_waiting_idx" ON "tickets" USING btree ("root_id","id") WHERE status = 'waiting';--> statement-breakpoint
CREATE UNIQUE INDEX "tickets_hold_claim_key" ON "tickets" USING btree ("hold_claim_id");--> statement-breakpoint
-- Leases made before ttl_seconds existed renew by the time they were first given.
UPDATE "claims" SET "ttl_seconds" = GREATEST(10, EXTRACT(EPOCH FROM ("expires_at" - "created_at"))::integer) WHERE "kind" = 'lease' AND "expires_at" IS NOT NULL;
