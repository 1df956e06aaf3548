CREATE TABLE "packages" (
	"id" text PRIMARY KEY NOT NULL,
	"root_id" text NOT NULL,
	"name" text NOT NULL,
	"version" text NOT NULL,
	"device_type" text NOT NULL,
	"sha256" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"url" text NOT NULL,
	"feature_key" text,
	"meter_key" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "packages_feature_xor_meter" CHECK (("packages"."feature_key" IS NULL) <> ("packages"."meter_key" IS NULL))
);
--> statement-breakpoint
ALTER TABLE "packages" ADD CONSTRAINT "packages_root_id_pools_id_fk" FOREIGN KEY ("root_id") REFERENCES "public"."pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "packages_root_name_version_type_key" ON "packages" USING btree ("root_id","name","version","device_type");