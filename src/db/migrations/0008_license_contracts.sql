CREATE TABLE "license_connections" (
	"license_id" text NOT NULL,
	"serial" text NOT NULL,
	"connected_at" timestamp with time zone NOT NULL,
	CONSTRAINT "license_connections_license_id_serial_pk" PRIMARY KEY("license_id","serial")
);
--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "key" text;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "term_months" integer;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "start_rule" text DEFAULT 'on_activation' NOT NULL;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "connection_threshold" integer;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "billing_interval" text;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "contract_years" integer;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "request" jsonb;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "activated_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "activated_by" text;--> statement-breakpoint
ALTER TABLE "license_connections" ADD CONSTRAINT "license_connections_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "licenses" ADD CONSTRAINT "licenses_activated_by_accounts_id_fk" FOREIGN KEY ("activated_by") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "licenses_key_key" ON "licenses" USING btree ("key");