ALTER TABLE "crawl_pages" ADD COLUMN "log_id" text;--> statement-breakpoint
ALTER TABLE "crawl_pages" ADD COLUMN "fatal_item_ids" text[];--> statement-breakpoint
ALTER TABLE "crawl_runs" ADD COLUMN "pass_group" integer;--> statement-breakpoint
ALTER TABLE "crawl_runs" ADD COLUMN "pass_number" integer;--> statement-breakpoint
ALTER TABLE "crawl_runs" ADD COLUMN "passes" integer;--> statement-breakpoint
ALTER TABLE "crawl_runs" ADD COLUMN "min_new_ratio" double precision;--> statement-breakpoint
ALTER TABLE "hashtag_videos" ADD COLUMN "missing_since" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "crawl_runs_pass_group_idx" ON "crawl_runs" USING btree ("pass_group") WHERE "crawl_runs"."pass_group" is not null;--> statement-breakpoint
CREATE INDEX "hashtag_videos_missing_idx" ON "hashtag_videos" USING btree ("hashtag_id") WHERE "hashtag_videos"."missing_since" is not null;