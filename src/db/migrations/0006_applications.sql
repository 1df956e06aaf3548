CREATE TABLE "applications" (
	"id" text PRIMARY KEY NOT NULL,
	"parent_id" text NOT NULL,
	"pool_id" text NOT NULL,
	"applicant_id" text NOT NULL,
	"manager_id" text NOT NULL,
	"company" text NOT NULL,
	"contact_name" text NOT NULL,
	"address" jsonb NOT NULL,
	"email" text NOT NULL,
	"phone" text NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pool_initialization" (
	"pool_id" text PRIMARY KEY NOT NULL,
	"terms_version" text,
	"terms_accepted_by" text,
	"terms_accepted_at" timestamp with time zone,
	"payment_reference" text,
	"payment_set_by" text,
	"payment_set_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "applications" ADD CONSTRAINT "applications_parent_id_pools_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "applications" ADD CONSTRAINT "applications_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "applications" ADD CONSTRAINT "applications_applicant_id_accounts_id_fk" FOREIGN KEY ("applicant_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "applications" ADD CONSTRAINT "applications_manager_id_accounts_id_fk" FOREIGN KEY ("manager_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "applications" ADD CONSTRAINT "applications_decided_by_accounts_id_fk" FOREIGN KEY ("decided_by") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_initialization" ADD CONSTRAINT "pool_initialization_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_initialization" ADD CONSTRAINT "pool_initialization_terms_accepted_by_accounts_id_fk" FOREIGN KEY ("terms_accepted_by") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_initialization" ADD CONSTRAINT "pool_initialization_payment_set_by_accounts_id_fk" FOREIGN KEY ("payment_set_by") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "applications_pool_key" ON "applications" USING btree ("pool_id");--> statement-breakpoint
CREATE INDEX "applications_parent_idx" ON "applications" USING btree ("parent_id");