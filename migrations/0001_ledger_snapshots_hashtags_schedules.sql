CREATE TABLE "credit_ledger" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "credit_ledger_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"key_fingerprint" text NOT NULL,
	"endpoint" text NOT NULL,
	"hashtag_id" text,
	"run_id" integer,
	"credits" integer NOT NULL,
	"charged_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hashtags" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"title" text,
	"detail" jsonb,
	"video_count" bigint,
	"view_count" bigint,
	"resolved_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "hashtags_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "schedule_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "schedule_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"hashtag_id" text NOT NULL,
	"fired_at" timestamp with time zone DEFAULT now() NOT NULL,
	"outcome" text NOT NULL,
	"run_id" integer,
	"reason" text
);
--> statement-breakpoint
CREATE TABLE "video_snapshots" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "video_snapshots_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"video_id" text NOT NULL,
	"run_id" integer,
	"captured_at" timestamp with time zone DEFAULT now() NOT NULL,
	"play_count" bigint,
	"digg_count" bigint,
	"comment_count" bigint,
	"share_count" bigint,
	"collect_count" bigint
);
--> statement-breakpoint
ALTER TABLE "crawl_pages" ADD COLUMN "stale_streak" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "crawl_runs" ADD COLUMN "mode" text DEFAULT 'full' NOT NULL;--> statement-breakpoint
ALTER TABLE "crawl_runs" ADD COLUMN "since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "crawl_runs" ADD COLUMN "stale_pages_limit" integer;--> statement-breakpoint
ALTER TABLE "crawl_runs" ADD COLUMN "budget_credits" integer;--> statement-breakpoint
ALTER TABLE "crawl_runs" ADD COLUMN "trigger" text DEFAULT 'cli' NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD CONSTRAINT "credit_ledger_run_id_crawl_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."crawl_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "schedule_events" ADD CONSTRAINT "schedule_events_run_id_crawl_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."crawl_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "video_snapshots" ADD CONSTRAINT "video_snapshots_video_id_videos_id_fk" FOREIGN KEY ("video_id") REFERENCES "public"."videos"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "video_snapshots" ADD CONSTRAINT "video_snapshots_run_id_crawl_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."crawl_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "credit_ledger_key_time_idx" ON "credit_ledger" USING btree ("key_fingerprint","charged_at");--> statement-breakpoint
CREATE INDEX "credit_ledger_run_idx" ON "credit_ledger" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "schedule_events_hashtag_idx" ON "schedule_events" USING btree ("hashtag_id","fired_at");--> statement-breakpoint
CREATE INDEX "video_snapshots_video_time_idx" ON "video_snapshots" USING btree ("video_id","captured_at");