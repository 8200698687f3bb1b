-- One row per live campaign and UTC day with activity (grain: campaign_id × activity_date).
-- Built from the only timestamps the API exposes: each prospect's last send and last reply (when they
-- can be attributed to one campaign) and the observed last-open / last-click times. These are
-- "last activity per prospect" approximations: earlier sends, replies, opens and clicks of the same
-- prospect are not visible, so the daily figures under-count (see docs/metrics.md).
-- When webhook events are loaded (`webhook_events`), the `event_*` columns count them per campaign and
-- UTC day: every email sent, every first open of an email, every click, every reply and bounce, at the
-- time it happened. They are 0 for days without events (and everywhere when webhooks are off); they
-- cover only the time since the subscription started. The approximate columns are left as they are.
WITH opened_days AS (
    SELECT DISTINCT
        o.campaign_id,
        o.prospect_id,
        DATE '1970-01-01' + CAST(FLOOR(EXTRACT(EPOCH FROM o.opened_at) / 86400) AS INTEGER) AS activity_date
    FROM {{ ref('stg_woodpecker__prospect_opens') }} AS o
    INNER JOIN {{ ref('campaign_prospect_engagement') }} AS m
        ON m.campaign_id = o.campaign_id AND m.prospect_id = o.prospect_id
    -- a membership with an observed open has was_opened set; the filter only shrinks the join
    WHERE m.was_opened
),

clicked_days AS (
    SELECT DISTINCT
        k.campaign_id,
        k.prospect_id,
        DATE '1970-01-01' + CAST(FLOOR(EXTRACT(EPOCH FROM k.clicked_at) / 86400) AS INTEGER) AS activity_date
    FROM {{ ref('stg_woodpecker__prospect_clicks') }} AS k
    INNER JOIN {{ ref('campaign_prospect_engagement') }} AS m
        ON m.campaign_id = k.campaign_id AND m.prospect_id = k.prospect_id
    WHERE m.was_clicked
),

events AS (
    -- the bounced send is the last one, so a bounce is dated like the contact
    SELECT
        e.campaign_id,
        DATE '1970-01-01' + CAST(FLOOR(EXTRACT(EPOCH FROM e.last_contacted_at) / 86400) AS INTEGER)
            AS activity_date,
        1 AS contacts,
        0 AS opens,
        0 AS clicks,
        0 AS replies,
        CASE WHEN e.was_bounced THEN 1 ELSE 0 END AS bounces,
        0 AS event_sends,
        0 AS event_opens,
        0 AS event_clicks,
        0 AS event_replies,
        0 AS event_bounces
    FROM {{ ref('campaign_prospect_engagement') }} AS e
    WHERE e.last_contacted_at IS NOT NULL
    UNION ALL
    SELECT
        e.campaign_id,
        DATE '1970-01-01' + CAST(FLOOR(EXTRACT(EPOCH FROM e.last_replied_at) / 86400) AS INTEGER)
            AS activity_date,
        0 AS contacts,
        0 AS opens,
        0 AS clicks,
        1 AS replies,
        0 AS bounces,
        0 AS event_sends,
        0 AS event_opens,
        0 AS event_clicks,
        0 AS event_replies,
        0 AS event_bounces
    FROM {{ ref('campaign_prospect_engagement') }} AS e
    WHERE e.last_replied_at IS NOT NULL
    UNION ALL
    SELECT
        campaign_id, activity_date, 0 AS contacts, 1 AS opens, 0 AS clicks, 0 AS replies, 0 AS bounces,
        0 AS event_sends, 0 AS event_opens, 0 AS event_clicks, 0 AS event_replies, 0 AS event_bounces
    FROM opened_days
    UNION ALL
    SELECT
        campaign_id, activity_date, 0 AS contacts, 0 AS opens, 1 AS clicks, 0 AS replies, 0 AS bounces,
        0 AS event_sends, 0 AS event_opens, 0 AS event_clicks, 0 AS event_replies, 0 AS event_bounces
    FROM clicked_days
    UNION ALL
    SELECT
        w.campaign_id,
        w.occurred_date AS activity_date,
        0 AS contacts,
        0 AS opens,
        0 AS clicks,
        0 AS replies,
        0 AS bounces,
        CASE WHEN w.event = 'campaign_sent' THEN 1 ELSE 0 END AS event_sends,
        CASE WHEN w.event = 'email_opened' THEN 1 ELSE 0 END AS event_opens,
        CASE WHEN w.event = 'link_clicked' THEN 1 ELSE 0 END AS event_clicks,
        CASE WHEN w.event = 'prospect_replied' THEN 1 ELSE 0 END AS event_replies,
        CASE WHEN w.event = 'prospect_bounced' THEN 1 ELSE 0 END AS event_bounces
    FROM {{ ref('stg_woodpecker__webhook_events') }} AS w
    INNER JOIN {{ ref('stg_woodpecker__campaigns') }} AS c ON c.campaign_id = w.campaign_id
    WHERE w.event IN ('campaign_sent', 'email_opened', 'link_clicked', 'prospect_replied', 'prospect_bounced')
)

SELECT
    campaign_id,
    activity_date,
    CAST(SUM(contacts) AS BIGINT) AS contacts,
    CAST(SUM(opens) AS BIGINT) AS opens,
    CAST(SUM(clicks) AS BIGINT) AS clicks,
    CAST(SUM(replies) AS BIGINT) AS replies,
    CAST(SUM(bounces) AS BIGINT) AS bounces,
    CAST(SUM(event_sends) AS BIGINT) AS event_sends,
    CAST(SUM(event_opens) AS BIGINT) AS event_opens,
    CAST(SUM(event_clicks) AS BIGINT) AS event_clicks,
    CAST(SUM(event_replies) AS BIGINT) AS event_replies,
    CAST(SUM(event_bounces) AS BIGINT) AS event_bounces
FROM events
GROUP BY campaign_id, activity_date
