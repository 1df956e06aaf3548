CREATE TABLE "reminder_rules" (
	"scope_id" text PRIMARY KEY NOT NULL,
	"scope_type" text NOT NULL,
	"root_id" text NOT NULL,
	"offsets" integer[],
	"from_days" integer,
	"every" text,
	"updated_by" text,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reminders_sent" (
	"license_id" text NOT NULL,
	"offset_days" integer NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"sent_at" timestamp with time zone NOT NULL,
	"recipients" integer NOT NULL,
	CONSTRAINT "reminders_sent_license_id_offset_days_ends_at_pk" PRIMARY KEY("license_id","offset_days","ends_at")
);
--> statement-breakpoint
ALTER TABLE "reminder_rules" ADD CONSTRAINT "reminder_rules_root_id_pools_id_fk" FOREIGN KEY ("root_id") REFERENCES "public"."pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reminders_sent" ADD CONSTRAINT "reminders_sent_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "licenses_reminder_until_idx" ON "licenses" USING btree ("valid_until") WHERE "status" IN ('in_use', 'access_denied', 'expired') AND "pool_id" IS NOT NULL AND "valid_until" IS NOT NULL;