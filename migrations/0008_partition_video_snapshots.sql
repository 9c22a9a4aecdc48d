-- Written by hand (drizzle-kit has no partitioning): video_snapshots becomes a table range-
-- partitioned by month on captured_at, so retention drops whole months instead of deleting rows.
-- The existing rows are copied into the new table, ids and all; the old table is dropped only
-- after the copy, inside the migration's transaction. The snapshot next to this file describes
-- the schema after it (serial id, primary key (id, captured_at)), so drizzle-kit generate finds
-- nothing left to do; the partitions are not in the schema and drizzle-kit never sees them.
-- Partition names are video_snapshots_pYYYY_MM, bounds are UTC months; the worker creates the
-- months ahead and drops the expired ones (src/db/snapshot-partitions.ts).
ALTER TABLE "video_snapshots" RENAME TO "video_snapshots_unpartitioned";--> statement-breakpoint
ALTER INDEX "video_snapshots_pkey" RENAME TO "video_snapshots_unpartitioned_pkey";--> statement-breakpoint
ALTER INDEX "video_snapshots_video_time_idx" RENAME TO "video_snapshots_unpartitioned_video_time_idx";--> statement-breakpoint
CREATE TABLE "video_snapshots" (
	"id" bigint NOT NULL,
	"video_id" text NOT NULL,
	"run_id" integer,
	"captured_at" timestamp with time zone DEFAULT now() NOT NULL,
	"play_count" bigint,
	"digg_count" bigint,
	"comment_count" bigint,
	"share_count" bigint,
	"collect_count" bigint,
	CONSTRAINT "video_snapshots_id_captured_at_pk" PRIMARY KEY("id","captured_at")
) PARTITION BY RANGE ("captured_at");--> statement-breakpoint
ALTER TABLE "video_snapshots" ADD CONSTRAINT "video_snapshots_video_id_videos_id_fk" FOREIGN KEY ("video_id") REFERENCES "public"."videos"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "video_snapshots" ADD CONSTRAINT "video_snapshots_run_id_crawl_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."crawl_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "video_snapshots_video_time_idx" ON "video_snapshots" USING btree ("video_id","captured_at");--> statement-breakpoint
-- One partition for every month from the oldest row to two months past the newest row or now,
-- whichever is later (the worker keeps two months ahead as well).
DO $$
DECLARE
  month timestamp;
  last_month timestamp;
BEGIN
  SELECT date_trunc('month', coalesce(min(captured_at), now()) AT TIME ZONE 'UTC'),
         date_trunc('month', greatest(coalesce(max(captured_at), now()), now()) AT TIME ZONE 'UTC') + interval '2 months'
    INTO month, last_month
    FROM video_snapshots_unpartitioned;
  WHILE month <= last_month LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF video_snapshots FOR VALUES FROM (%L) TO (%L)',
      'video_snapshots_p' || to_char(month, 'YYYY_MM'),
      (month AT TIME ZONE 'UTC'), ((month + interval '1 month') AT TIME ZONE 'UTC'));
    month := month + interval '1 month';
  END LOOP;
END $$;--> statement-breakpoint
INSERT INTO "video_snapshots" ("id", "video_id", "run_id", "captured_at", "play_count", "digg_count", "comment_count", "share_count", "collect_count")
  SELECT "id", "video_id", "run_id", "captured_at", "play_count", "digg_count", "comment_count", "share_count", "collect_count"
  FROM "video_snapshots_unpartitioned";--> statement-breakpoint
DROP TABLE "video_snapshots_unpartitioned";--> statement-breakpoint
-- What bigserial makes, after the old identity's sequence (same name) went with its table.
CREATE SEQUENCE "video_snapshots_id_seq" OWNED BY "video_snapshots"."id";--> statement-breakpoint
SELECT setval('video_snapshots_id_seq', coalesce(max("id"), 0) + 1, false) FROM "video_snapshots";--> statement-breakpoint
ALTER TABLE "video_snapshots" ALTER COLUMN "id" SET DEFAULT nextval('video_snapshots_id_seq');
