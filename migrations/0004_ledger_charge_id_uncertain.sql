ALTER TABLE "credit_ledger" ADD COLUMN "charge_id" text;--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD COLUMN "uncertain" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD CONSTRAINT "credit_ledger_charge_id_unique" UNIQUE("charge_id");