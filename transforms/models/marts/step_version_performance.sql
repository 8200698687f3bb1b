-- One row per step and A/B version of a live campaign (grain: campaign_id × step_id × version_id;
-- steps without versions, e.g. manual tasks, have one row with NULL version columns). Structure and
-- settings come from the v2 campaign; the only engagement the list endpoints support at this grain
-- is per STEP, derived from each membership's sent count, and is repeated on every version row of
-- the step (do not sum it over versions). Per-version sends, opens and replies are not exposed.
-- With webhook events loaded, the `step_event_*` columns count the events of each email step (matched
-- on the payload's `step`, the email's position in the sequence): emails sent, first opens, clicks and
-- replies, with the open, click and reply rates per email sent. Per step, like the columns above; NULL
-- when no event of the campaign was received (webhooks off, or no subscription yet).
WITH email_steps AS (
    SELECT
        s.campaign_id,
        s.step_id,
        ROW_NUMBER() OVER (PARTITION BY s.campaign_id ORDER BY s.step_number, s.step_id) AS email_number
    FROM {{ ref('stg_woodpecker__campaign_steps') }} AS s
    WHERE s.step_type IS NULL OR s.step_type = 'EMAIL'
),

sends_histogram AS (
    SELECT
        e.campaign_id,
        e.sends,
        COUNT(*) AS memberships,
        COUNT(CASE WHEN e.was_replied THEN 1 END) AS replied,
        COUNT(CASE WHEN e.was_bounced THEN 1 END) AS bounced
    FROM {{ ref('campaign_prospect_engagement') }} AS e
    WHERE e.sends > 0
    GROUP BY e.campaign_id, e.sends
),

per_step AS (
    SELECT
        es.campaign_id,
        es.step_id,
        es.email_number,
        SUM(CASE WHEN h.sends >= es.email_number THEN h.memberships ELSE 0 END) AS prospects_reached,
        SUM(CASE WHEN h.sends = es.email_number THEN h.memberships ELSE 0 END) AS prospects_stopped_here,
        SUM(CASE WHEN h.sends = es.email_number THEN h.replied ELSE 0 END) AS replied_after_step,
        SUM(CASE WHEN h.sends = es.email_number THEN h.bounced ELSE 0 END) AS bounced_at_step
    FROM email_steps AS es
    LEFT JOIN sends_histogram AS h ON h.campaign_id = es.campaign_id
    GROUP BY es.campaign_id, es.step_id, es.email_number
),

step_events AS (
    SELECT
        w.campaign_id,
        w.step_number,
        COUNT(CASE WHEN w.event = 'campaign_sent' THEN 1 END) AS sends,
        COUNT(CASE WHEN w.event = 'email_opened' THEN 1 END) AS opens,
        COUNT(CASE WHEN w.event = 'link_clicked' THEN 1 END) AS clicks,
        COUNT(CASE WHEN w.event = 'prospect_replied' THEN 1 END) AS replies
    FROM {{ ref('stg_woodpecker__webhook_events') }} AS w
    WHERE w.campaign_id IS NOT NULL AND w.step_number IS NOT NULL
    GROUP BY w.campaign_id, w.step_number
),

campaigns_with_events AS (
    SELECT DISTINCT w.campaign_id
    FROM {{ ref('stg_woodpecker__webhook_events') }} AS w
    WHERE w.campaign_id IS NOT NULL
),

first_step_tracking AS (
    SELECT
        v.campaign_id,
        MIN(CASE WHEN v.track_opens THEN 1 ELSE 0 END) = 1 AS open_tracking_enabled
    FROM {{ ref('stg_woodpecker__campaign_step_versions') }} AS v
    INNER JOIN {{ ref('stg_woodpecker__campaign_steps') }} AS s
        ON s.campaign_id = v.campaign_id AND s.step_id = v.step_id
    WHERE s.step_number = (
        SELECT MIN(f.step_number)
        FROM {{ ref('stg_woodpecker__campaign_steps') }} AS f
        WHERE f.campaign_id = s.campaign_id
    )
    GROUP BY v.campaign_id
)

SELECT
    s.campaign_id,
    c.campaign_name,
    s.step_id,
    s.step_number,
    s.step_type,
    ps.email_number,
    s.followup_after_range,
    s.followup_after_value,
    s.wait_hours,
    s.sending_days,
    s.version_count,
    v.version_id,
    v.version,
    v.subject,
    v.subject IS NULL AND s.step_number > 1 AS is_thread_reply,
    v.signature,
    v.track_opens,
    t.open_tracking_enabled AS campaign_open_tracking_enabled,
    CAST(ps.prospects_reached AS BIGINT) AS step_prospects_reached,
    CAST(ps.prospects_stopped_here AS BIGINT) AS step_prospects_stopped_here,
    CAST(ps.replied_after_step AS BIGINT) AS step_replied_after,
    CAST(ps.bounced_at_step AS BIGINT) AS step_bounced_at,
    CASE
        WHEN ps.prospects_reached > 0 THEN CAST(ps.replied_after_step AS FLOAT8) / ps.prospects_reached
    END AS step_reply_rate,
    CASE WHEN ce.campaign_id IS NOT NULL THEN CAST(COALESCE(se.sends, 0) AS BIGINT) END AS step_event_sends,
    CASE WHEN ce.campaign_id IS NOT NULL THEN CAST(COALESCE(se.opens, 0) AS BIGINT) END AS step_event_opens,
    CASE WHEN ce.campaign_id IS NOT NULL THEN CAST(COALESCE(se.clicks, 0) AS BIGINT) END AS step_event_clicks,
    CASE WHEN ce.campaign_id IS NOT NULL THEN CAST(COALESCE(se.replies, 0) AS BIGINT) END
        AS step_event_replies,
    CASE WHEN se.sends > 0 THEN CAST(se.opens AS FLOAT8) / se.sends END AS step_event_open_rate,
    CASE WHEN se.sends > 0 THEN CAST(se.clicks AS FLOAT8) / se.sends END AS step_event_click_rate,
    CASE WHEN se.sends > 0 THEN CAST(se.replies AS FLOAT8) / se.sends END AS step_event_reply_rate
FROM {{ ref('stg_woodpecker__campaign_steps') }} AS s
INNER JOIN {{ ref('stg_woodpecker__campaigns') }} AS c ON c.campaign_id = s.campaign_id
LEFT JOIN {{ ref('stg_woodpecker__campaign_step_versions') }} AS v
    ON v.campaign_id = s.campaign_id AND v.step_id = s.step_id
LEFT JOIN per_step AS ps ON ps.campaign_id = s.campaign_id AND ps.step_id = s.step_id
LEFT JOIN first_step_tracking AS t ON t.campaign_id = s.campaign_id
LEFT JOIN step_events AS se ON se.campaign_id = s.campaign_id AND se.step_number = ps.email_number
LEFT JOIN campaigns_with_events AS ce ON ce.campaign_id = s.campaign_id
