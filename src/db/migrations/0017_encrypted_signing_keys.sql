ALTER TABLE "signing_keys" ALTER COLUMN "private_key" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "signing_keys" ADD COLUMN "encrypted_private_key" text;--> statement-breakpoint
ALTER TABLE "signing_keys" ADD CONSTRAINT "signing_keys_private_key_once" CHECK (("signing_keys"."private_key" IS NULL) <> ("signing_keys"."encrypted_private_key" IS NULL));--> statement-breakpoint
ALTER TABLE "signing_keys" ADD CONSTRAINT "signing_keys_encrypted_format" CHECK ("signing_keys"."encrypted_private_key" LIKE 'v1:%');