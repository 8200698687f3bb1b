-- One row per live prospect (grain: prospect_id): engagement across all of the prospect's campaigns,
-- a lifecycle stage and an engagement score (both defined in docs/metrics.md). The membership counts
-- come from int_woodpecker__memberships_per_prospect; opens and clicks are rolled up from the
-- campaign_prospect_engagement rows that have any (the others add nothing to them).
WITH observed AS (
    SELECT
        e.prospect_id,
        COUNT(CASE WHEN e.was_opened THEN 1 END) AS campaigns_opened,
        COUNT(CASE WHEN e.was_clicked THEN 1 END) AS campaigns_clicked,
        SUM(e.observed_opens) AS observed_opens,
        SUM(e.observed_clicks) AS observed_clicks,
        SUM(e.clicked_links) AS clicked_links,
        MIN(e.first_opened_at) AS first_opened_at,
        MAX(e.last_opened_at) AS last_opened_at,
        MIN(e.first_clicked_at) AS first_clicked_at,
        MAX(e.last_clicked_at) AS last_clicked_at
    FROM {{ ref('campaign_prospect_engagement') }} AS e
    WHERE e.was_opened OR e.was_clicked
    GROUP BY e.prospect_id
),

counts AS (
    SELECT
        p.prospect_id,
        p.email,
        p.email_domain,
        p.company,
        p.status AS global_status,
        CAST(COALESCE(x.campaigns_enrolled, 0) AS BIGINT) AS campaigns_enrolled,
        CAST(COALESCE(x.campaigns_contacted, 0) AS BIGINT) AS campaigns_contacted,
        CAST(COALESCE(x.emails_sent, 0) AS BIGINT) AS emails_sent,
        CAST(COALESCE(o.campaigns_opened, 0) AS BIGINT) AS campaigns_opened,
        CAST(COALESCE(o.campaigns_clicked, 0) AS BIGINT) AS campaigns_clicked,
        CAST(COALESCE(x.campaigns_replied, 0) AS BIGINT) AS campaigns_replied,
        CAST(COALESCE(x.campaigns_autoreplied, 0) AS BIGINT) AS campaigns_autoreplied,
        CAST(COALESCE(x.campaigns_interested, 0) AS BIGINT) AS campaigns_interested,
        CAST(COALESCE(x.campaigns_maybe_later, 0) AS BIGINT) AS campaigns_maybe_later,
        CAST(COALESCE(x.campaigns_not_interested, 0) AS BIGINT) AS campaigns_not_interested,
        CAST(COALESCE(x.campaigns_positive_reply, 0) AS BIGINT) AS campaigns_positive_reply,
        CAST(COALESCE(x.campaigns_bounced, 0) AS BIGINT) AS campaigns_bounced,
        CAST(COALESCE(x.campaigns_invalid, 0) AS BIGINT) AS campaigns_invalid,
        CAST(COALESCE(x.campaigns_opted_out, 0) AS BIGINT) AS campaigns_opted_out,
        CAST(COALESCE(o.observed_opens, 0) AS BIGINT) AS observed_opens,
        CAST(COALESCE(o.observed_clicks, 0) AS BIGINT) AS observed_clicks,
        CAST(COALESCE(o.clicked_links, 0) AS BIGINT) AS clicked_links,
        o.first_opened_at,
        o.last_opened_at,
        o.first_clicked_at,
        o.last_clicked_at,
        p.last_contacted_at,
        p.last_replied_at
    FROM {{ ref('stg_woodpecker__prospects') }} AS p
    LEFT JOIN {{ ref('int_woodpecker__memberships_per_prospect') }} AS x ON x.prospect_id = p.prospect_id
    LEFT JOIN observed AS o ON o.prospect_id = p.prospect_id
),

flags AS (
    SELECT
        *,
        campaigns_opened > 0 AS ever_opened,
        campaigns_clicked > 0 AS ever_clicked,
        campaigns_replied > 0 OR COALESCE(global_status = 'REPLIED', FALSE) AS ever_replied,
        campaigns_interested > 0 AS ever_interested,
        campaigns_invalid > 0 OR COALESCE(global_status = 'INVALID', FALSE) AS is_invalid,
        campaigns_bounced > 0 OR COALESCE(global_status = 'BOUNCED', FALSE) AS is_bounced,
        campaigns_opted_out > 0 OR COALESCE(global_status = 'OPT_OUT', FALSE) AS is_opted_out,
        COALESCE(global_status = 'BLACKLIST', FALSE) AS is_blacklisted
    FROM counts
)

SELECT
    *,
    {{ woodpecker_ignoring_nulls('GREATEST', 'last_contacted_at', 'last_replied_at', 'last_opened_at', 'last_clicked_at') }} AS last_activity_at,
    CASE
        WHEN is_bounced THEN 'bounced'
        WHEN is_invalid THEN 'invalid'
        WHEN is_opted_out THEN 'opted_out'
        WHEN is_blacklisted THEN 'blacklisted'
        WHEN ever_interested THEN 'interested'
        WHEN ever_replied THEN 'replied'
        WHEN ever_opened OR ever_clicked THEN 'engaged'
        WHEN campaigns_contacted > 0 OR last_contacted_at IS NOT NULL THEN 'contacted'
        ELSE 'new'
    END AS lifecycle_stage,
    CASE
        WHEN is_invalid OR is_bounced OR is_opted_out OR is_blacklisted THEN 0
        ELSE LEAST(
            100,
            CASE WHEN ever_opened THEN 10 ELSE 0 END
            + CASE WHEN ever_clicked THEN 20 ELSE 0 END
            + CASE WHEN ever_replied THEN 40 ELSE 0 END
            + CASE WHEN ever_interested THEN 30 ELSE 0 END
            + CASE WHEN campaigns_maybe_later > 0 THEN 15 ELSE 0 END
        )
    END AS engagement_score
FROM flags
