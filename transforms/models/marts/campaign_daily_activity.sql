-- One row per live campaign and UTC day with activity (grain: campaign_id × activity_date).
-- Built from the only timestamps the API exposes: each prospect's last send and last reply (when they
-- can be attributed to one campaign) and the observed last-open / last-click times. These are
-- "last activity per prospect" approximations: earlier sends, replies, opens and clicks of the same
-- prospect are not visible, so the daily figures under-count (see docs/metrics.md).
WITH events AS (
    SELECT e.campaign_id, e.prospect_id, 'contact' AS activity, e.last_contacted_at AS activity_at
    FROM {{ ref('campaign_prospect_engagement') }} AS e
    WHERE e.last_contacted_at IS NOT NULL
    UNION ALL
    SELECT e.campaign_id, e.prospect_id, 'reply' AS activity, e.last_replied_at AS activity_at
    FROM {{ ref('campaign_prospect_engagement') }} AS e
    WHERE e.last_replied_at IS NOT NULL
    UNION ALL
    SELECT e.campaign_id, e.prospect_id, 'bounce' AS activity, e.last_contacted_at AS activity_at
    FROM {{ ref('campaign_prospect_engagement') }} AS e
    WHERE e.was_bounced AND e.last_contacted_at IS NOT NULL
    UNION ALL
    SELECT o.campaign_id, o.prospect_id, 'open' AS activity, o.opened_at AS activity_at
    FROM {{ ref('stg_woodpecker__prospect_opens') }} AS o
    INNER JOIN {{ ref('campaign_prospect_engagement') }} AS m
        ON m.campaign_id = o.campaign_id AND m.prospect_id = o.prospect_id
    UNION ALL
    SELECT k.campaign_id, k.prospect_id, 'click' AS activity, k.clicked_at AS activity_at
    FROM {{ ref('stg_woodpecker__prospect_clicks') }} AS k
    INNER JOIN {{ ref('campaign_prospect_engagement') }} AS m
        ON m.campaign_id = k.campaign_id AND m.prospect_id = k.prospect_id
),

-- one row per campaign, UTC day, activity and prospect; the UTC day is counted from the epoch, which
-- needs no time-zone conversion (the slow part of `CAST(activity_at AT TIME ZONE 'UTC' AS DATE)`)
activity_days AS (
    SELECT DISTINCT
        campaign_id,
        DATE '1970-01-01' + CAST(FLOOR(EXTRACT(EPOCH FROM activity_at) / 86400) AS INTEGER) AS activity_date,
        activity,
        prospect_id
    FROM events
)

SELECT
    campaign_id,
    activity_date,
    CAST(SUM(CASE WHEN activity = 'contact' THEN 1 ELSE 0 END) AS BIGINT) AS contacts,
    CAST(SUM(CASE WHEN activity = 'open' THEN 1 ELSE 0 END) AS BIGINT) AS opens,
    CAST(SUM(CASE WHEN activity = 'click' THEN 1 ELSE 0 END) AS BIGINT) AS clicks,
    CAST(SUM(CASE WHEN activity = 'reply' THEN 1 ELSE 0 END) AS BIGINT) AS replies,
    CAST(SUM(CASE WHEN activity = 'bounce' THEN 1 ELSE 0 END) AS BIGINT) AS bounces
FROM activity_days
GROUP BY campaign_id, activity_date
