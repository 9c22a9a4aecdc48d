-- The 80 % test of 0007 multiplied integers: a --budget-credits above 536,870,911 overflowed
-- and made every counter update of its run fail. The same function and trigger in bigint.
CREATE OR REPLACE FUNCTION webhook_run_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  event text;
  reported bigint;
  archived bigint;
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    event := CASE NEW.status WHEN 'completed' THEN 'run.completed' WHEN 'failed' THEN 'run.failed' WHEN 'paused' THEN 'run.paused' END;
    IF event IS NOT NULL THEN
      PERFORM webhook_enqueue(event, NEW, '{}'::jsonb, NULL);
    END IF;
    -- Coverage: videos archived for the hashtag against the count its detail reports. Counted
    -- only when some endpoint listens, once per completed full crawl.
    IF NEW.status = 'completed' AND NEW.mode = 'full'
      AND EXISTS (SELECT 1 FROM webhooks w WHERE w.disabled_at IS NULL AND 'coverage.low' = ANY (w.events)) THEN
      SELECT h.video_count INTO reported FROM hashtags h WHERE h.id = NEW.hashtag_id;
      IF reported > 0 THEN
        SELECT count(*) INTO archived FROM hashtag_videos hv WHERE hv.hashtag_id = NEW.hashtag_id;
        PERFORM webhook_enqueue('coverage.low', NEW,
          jsonb_build_object('coverage', jsonb_build_object('reported', reported, 'archived', archived, 'ratio', archived::double precision / reported)),
          archived::double precision / reported);
      END IF;
    END IF;
  END IF;
  -- 80 % of --budget-credits: credits only grow, so the line is crossed once per run.
  IF NEW.budget_credits IS NOT NULL AND OLD.credits::bigint * 5 < NEW.budget_credits::bigint * 4 AND NEW.credits::bigint * 5 >= NEW.budget_credits::bigint * 4 THEN
    PERFORM webhook_enqueue('budget.threshold', NEW, jsonb_build_object('budgetCredits', NEW.budget_credits), NULL);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
DROP TRIGGER crawl_runs_webhook_events ON crawl_runs;
--> statement-breakpoint
-- The WHEN clause keeps the per-page counter updates from calling the function at all.
CREATE TRIGGER crawl_runs_webhook_events AFTER UPDATE ON crawl_runs FOR EACH ROW
WHEN (
  OLD.status IS DISTINCT FROM NEW.status
  OR (NEW.budget_credits IS NOT NULL AND OLD.credits::bigint * 5 < NEW.budget_credits::bigint * 4 AND NEW.credits::bigint * 5 >= NEW.budget_credits::bigint * 4)
)
EXECUTE FUNCTION webhook_run_events();
