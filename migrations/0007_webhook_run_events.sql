-- Webhook events are written by a trigger, in the very transaction that changes a run: every path
-- that completes, fails or pauses a run (page commit, run control, budget and cap pauses, and any
-- added later) announces it, and a change that rolls back announces nothing. One row per
-- subscribed endpoint; src/webhooks/relay.ts moves them to the queue.
CREATE FUNCTION webhook_enqueue(event text, run crawl_runs, extra jsonb, coverage double precision) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO webhook_messages (id, webhook_id, type, run_id, data)
  SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), w.id, event, run.id,
    jsonb_build_object(
      'runId', run.id,
      'hashtagId', run.hashtag_id,
      'hashtagName', (SELECT h.name FROM hashtags h WHERE h.id = run.hashtag_id),
      'status', run.status,
      'pages', run.pages,
      'items', run.items,
      'newItems', run.new_items,
      'credits', run.credits,
      'stopReason', run.stop_reason
    ) || extra
  FROM webhooks w
  WHERE w.disabled_at IS NULL
    AND event = ANY (w.events)
    AND (w.hashtag_ids IS NULL OR run.hashtag_id = ANY (w.hashtag_ids))
    AND (coverage IS NULL OR coverage < w.coverage_below);
$$;
--> statement-breakpoint
CREATE FUNCTION webhook_run_events() RETURNS trigger
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
  IF NEW.budget_credits IS NOT NULL AND OLD.credits * 5 < NEW.budget_credits * 4 AND NEW.credits * 5 >= NEW.budget_credits * 4 THEN
    PERFORM webhook_enqueue('budget.threshold', NEW, jsonb_build_object('budgetCredits', NEW.budget_credits), NULL);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
-- The WHEN clause keeps the per-page counter updates from calling the function at all.
CREATE TRIGGER crawl_runs_webhook_events AFTER UPDATE ON crawl_runs FOR EACH ROW
WHEN (
  OLD.status IS DISTINCT FROM NEW.status
  OR (NEW.budget_credits IS NOT NULL AND OLD.credits * 5 < NEW.budget_credits * 4 AND NEW.credits * 5 >= NEW.budget_credits * 4)
)
EXECUTE FUNCTION webhook_run_events();
