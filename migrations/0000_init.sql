CREATE TABLE "crawl_pages" (
	"run_id" integer NOT NULL,
	"page_number" integer NOT NULL,
	"cursor" text NOT NULL,
	"next_cursor" text,
	"has_more" boolean NOT NULL,
	"item_count" integer NOT NULL,
	"new_items" integer DEFAULT 0 NOT NULL,
	"empty_streak" integer DEFAULT 0 NOT NULL,
	"fetched_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "crawl_pages_run_id_page_number_pk" PRIMARY KEY("run_id","page_number")
);
--> statement-breakpoint
CREATE TABLE "crawl_runs" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "crawl_runs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"hashtag_id" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"pages" integer DEFAULT 0 NOT NULL,
	"items" integer DEFAULT 0 NOT NULL,
	"new_items" integer DEFAULT 0 NOT NULL,
	"credits" integer DEFAULT 0 NOT NULL,
	"max_pages" integer,
	"max_items" integer,
	"generation" integer DEFAULT 1 NOT NULL,
	"stop_reason" text,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "crawl_runs_status_check" CHECK ("crawl_runs"."status" in ('queued','running','paused','completed','failed','cancelled'))
);
--> statement-breakpoint
CREATE TABLE "hashtag_videos" (
	"hashtag_id" text NOT NULL,
	"video_id" text NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"run_id" integer,
	"last_run_id" integer,
	CONSTRAINT "hashtag_videos_hashtag_id_video_id_pk" PRIMARY KEY("hashtag_id","video_id")
);
--> statement-breakpoint
CREATE TABLE "videos" (
	"id" text PRIMARY KEY NOT NULL,
	"author_id" text,
	"author_unique_id" text,
	"description" text,
	"create_time" timestamp with time zone,
	"play_count" bigint,
	"digg_count" bigint,
	"comment_count" bigint,
	"share_count" bigint,
	"collect_count" bigint,
	"music_id" text,
	"raw" jsonb NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "crawl_pages" ADD CONSTRAINT "crawl_pages_run_id_crawl_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."crawl_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hashtag_videos" ADD CONSTRAINT "hashtag_videos_video_id_videos_id_fk" FOREIGN KEY ("video_id") REFERENCES "public"."videos"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hashtag_videos" ADD CONSTRAINT "hashtag_videos_run_id_crawl_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."crawl_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hashtag_videos" ADD CONSTRAINT "hashtag_videos_last_run_id_crawl_runs_id_fk" FOREIGN KEY ("last_run_id") REFERENCES "public"."crawl_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "crawl_runs_hashtag_idx" ON "crawl_runs" USING btree ("hashtag_id","created_at");--> statement-breakpoint
CREATE INDEX "hashtag_videos_video_idx" ON "hashtag_videos" USING btree ("video_id");