CREATE TABLE "accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"name" text NOT NULL,
	"password_hash" text NOT NULL,
	"address" jsonb,
	"is_superuser" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" text PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"actor_id" text,
	"token_id" text,
	"action" text NOT NULL,
	"entity_type" text NOT NULL,
	"entity_id" text NOT NULL,
	"root_id" text,
	"pool_id" text,
	"license_id" text,
	"member_id" text,
	"before" jsonb,
	"after" jsonb,
	"request_id" text
);
--> statement-breakpoint
CREATE TABLE "devices" (
	"id" text PRIMARY KEY NOT NULL,
	"root_id" text NOT NULL,
	"serial" text NOT NULL,
	"type" text NOT NULL,
	"status" text DEFAULT 'ok' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "features" (
	"id" text PRIMARY KEY NOT NULL,
	"root_id" text NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "licenses" (
	"id" text PRIMARY KEY NOT NULL,
	"root_id" text NOT NULL,
	"pool_id" text,
	"name" text,
	"status" text NOT NULL,
	"limits" jsonb NOT NULL,
	"features" text[] NOT NULL,
	"valid_from" timestamp with time zone,
	"valid_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "licenses_validity_order" CHECK ("licenses"."valid_until" IS NULL OR "licenses"."valid_from" IS NULL OR "licenses"."valid_until" > "licenses"."valid_from")
);
--> statement-breakpoint
CREATE TABLE "members" (
	"id" text PRIMARY KEY NOT NULL,
	"root_id" text NOT NULL,
	"pool_id" text NOT NULL,
	"account_id" text,
	"device_id" text,
	"status" text NOT NULL,
	"decided_at" timestamp with time zone,
	"decided_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "members_account_xor_device" CHECK (("members"."account_id" IS NULL) <> ("members"."device_id" IS NULL))
);
--> statement-breakpoint
CREATE TABLE "meters" (
	"id" text PRIMARY KEY NOT NULL,
	"root_id" text NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"draws" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pool_usage" (
	"pool_id" text NOT NULL,
	"meter_key" text NOT NULL,
	"used" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "pool_usage_pool_id_meter_key_pk" PRIMARY KEY("pool_id","meter_key"),
	CONSTRAINT "pool_usage_used_nonnegative" CHECK ("pool_usage"."used" >= 0)
);
--> statement-breakpoint
CREATE TABLE "pools" (
	"id" text PRIMARY KEY NOT NULL,
	"root_id" text NOT NULL,
	"parent_id" text,
	"path" text[] NOT NULL,
	"depth" integer NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"restricted" boolean DEFAULT false NOT NULL,
	"valid_until" timestamp with time zone,
	"max_borrow_days" integer,
	"queue" jsonb NOT NULL,
	"billing_address" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pools_root_has_no_parent" CHECK (("pools"."parent_id" IS NULL) = ("pools"."id" = "pools"."root_id"))
);
--> statement-breakpoint
CREATE TABLE "rate_limits" (
	"key" text PRIMARY KEY NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"count" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "role_bindings" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"pool_id" text NOT NULL,
	"role" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"kind" text NOT NULL,
	"name" text,
	"secret_hash" text NOT NULL,
	"pool_id" text,
	"role" text,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "devices" ADD CONSTRAINT "devices_root_id_pools_id_fk" FOREIGN KEY ("root_id") REFERENCES "public"."pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "features" ADD CONSTRAINT "features_root_id_pools_id_fk" FOREIGN KEY ("root_id") REFERENCES "public"."pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "licenses" ADD CONSTRAINT "licenses_root_id_pools_id_fk" FOREIGN KEY ("root_id") REFERENCES "public"."pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "licenses" ADD CONSTRAINT "licenses_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "members" ADD CONSTRAINT "members_root_id_pools_id_fk" FOREIGN KEY ("root_id") REFERENCES "public"."pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "members" ADD CONSTRAINT "members_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "members" ADD CONSTRAINT "members_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "members" ADD CONSTRAINT "members_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "members" ADD CONSTRAINT "members_decided_by_accounts_id_fk" FOREIGN KEY ("decided_by") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meters" ADD CONSTRAINT "meters_root_id_pools_id_fk" FOREIGN KEY ("root_id") REFERENCES "public"."pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_usage" ADD CONSTRAINT "pool_usage_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pools" ADD CONSTRAINT "pools_parent_id_pools_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "role_bindings" ADD CONSTRAINT "role_bindings_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "role_bindings" ADD CONSTRAINT "role_bindings_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tokens" ADD CONSTRAINT "tokens_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tokens" ADD CONSTRAINT "tokens_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "accounts_email_lower_key" ON "accounts" USING btree (lower("email"));--> statement-breakpoint
CREATE INDEX "audit_pool_idx" ON "audit_events" USING btree ("pool_id","id");--> statement-breakpoint
CREATE INDEX "audit_license_idx" ON "audit_events" USING btree ("license_id","id");--> statement-breakpoint
CREATE INDEX "audit_member_idx" ON "audit_events" USING btree ("member_id","id");--> statement-breakpoint
CREATE INDEX "audit_actor_idx" ON "audit_events" USING btree ("actor_id","id");--> statement-breakpoint
CREATE INDEX "audit_root_idx" ON "audit_events" USING btree ("root_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "devices_root_serial_key" ON "devices" USING btree ("root_id","serial");--> statement-breakpoint
CREATE UNIQUE INDEX "features_root_key" ON "features" USING btree ("root_id","key");--> statement-breakpoint
CREATE INDEX "licenses_pool_idx" ON "licenses" USING btree ("pool_id","status");--> statement-breakpoint
CREATE INDEX "licenses_root_idx" ON "licenses" USING btree ("root_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "members_pool_account_key" ON "members" USING btree ("pool_id","account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "members_pool_device_key" ON "members" USING btree ("pool_id","device_id");--> statement-breakpoint
CREATE INDEX "members_pool_idx" ON "members" USING btree ("pool_id","id");--> statement-breakpoint
CREATE INDEX "members_account_idx" ON "members" USING btree ("account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "meters_root_key" ON "meters" USING btree ("root_id","key");--> statement-breakpoint
CREATE INDEX "pools_parent_idx" ON "pools" USING btree ("parent_id","id");--> statement-breakpoint
CREATE INDEX "pools_root_idx" ON "pools" USING btree ("root_id","id");--> statement-breakpoint
CREATE INDEX "pools_path_gin" ON "pools" USING gin ("path");--> statement-breakpoint
CREATE UNIQUE INDEX "role_bindings_account_pool_role_key" ON "role_bindings" USING btree ("account_id","pool_id","role");--> statement-breakpoint
CREATE UNIQUE INDEX "role_bindings_one_manager_key" ON "role_bindings" USING btree ("pool_id") WHERE role = 'manager';--> statement-breakpoint
CREATE INDEX "role_bindings_pool_idx" ON "role_bindings" USING btree ("pool_id");--> statement-breakpoint
CREATE UNIQUE INDEX "tokens_secret_hash_key" ON "tokens" USING btree ("secret_hash");--> statement-breakpoint
CREATE INDEX "tokens_account_idx" ON "tokens" USING btree ("account_id");