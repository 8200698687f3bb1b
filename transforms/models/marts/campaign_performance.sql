-- One row per live campaign (grain: campaign_id): engagement counts recomputed from the memberships,
-- rates on unique (per-prospect) counts with NULL for a zero denominator, Woodpecker's latest reported
-- statistics beside them (`reported_*`) and the difference reported − computed (`delta_*`).
WITH per_campaign AS (
    SELECT
        e.campaign_id,
        COUNT(*) AS enrolled,
        COUNT(CASE WHEN e.was_contacted THEN 1 END) AS contacted,
        SUM(e.sends) AS emails_sent,
        COUNT(CASE WHEN e.was_opened THEN 1 END) AS unique_opened,
        COUNT(CASE WHEN e.was_clicked THEN 1 END) AS unique_clicked,
        COUNT(CASE WHEN e.was_opened OR e.was_clicked THEN 1 END) AS unique_opened_or_clicked,
        COUNT(CASE WHEN e.was_replied THEN 1 END) AS replied,
        COUNT(CASE WHEN e.was_autoreplied THEN 1 END) AS autoreplied,
        COUNT(CASE WHEN e.was_bounced THEN 1 END) AS bounced,
        COUNT(CASE WHEN e.was_invalid THEN 1 END) AS invalid,
        COUNT(CASE WHEN e.was_opted_out THEN 1 END) AS opted_out,
        COUNT(CASE WHEN e.interest = 'INTERESTED' THEN 1 END) AS interested,
        COUNT(CASE WHEN e.interest = 'MAYBE_LATER' THEN 1 END) AS maybe_later,
        COUNT(CASE WHEN e.interest = 'NOT_INTERESTED' THEN 1 END) AS not_interested,
        COUNT(CASE WHEN e.is_positive_reply THEN 1 END) AS positive_replies,
        SUM(e.observed_opens) AS observed_opens,
        SUM(e.observed_clicks) AS observed_clicks
    FROM {{ ref('campaign_prospect_engagement') }} AS e
    GROUP BY e.campaign_id
),

latest_stats AS (
    SELECT *
    FROM (
        SELECT
            s.*,
            ROW_NUMBER() OVER (PARTITION BY s.campaign_id ORDER BY s.captured_at DESC) AS row_rank
        FROM {{ ref('stg_woodpecker__campaign_stats') }} AS s
    ) AS ranked
    WHERE row_rank = 1
),

counts AS (
    SELECT
        c.campaign_id,
        c.campaign_name,
        c.campaign_status,
        c.folder_name,
        c.created_at,
        CAST(COALESCE(a.enrolled, 0) AS BIGINT) AS enrolled,
        CAST(COALESCE(a.contacted, 0) AS BIGINT) AS contacted,
        CAST(COALESCE(a.emails_sent, 0) AS BIGINT) AS emails_sent,
        -- a bounced membership stops after the one email that bounced
        CAST(COALESCE(a.emails_sent, 0) - COALESCE(a.bounced, 0) AS BIGINT) AS emails_delivered,
        CAST(COALESCE(a.unique_opened, 0) AS BIGINT) AS unique_opened,
        CAST(COALESCE(a.unique_clicked, 0) AS BIGINT) AS unique_clicked,
        CAST(COALESCE(a.unique_opened_or_clicked, 0) AS BIGINT) AS unique_opened_or_clicked,
        CAST(COALESCE(a.replied, 0) AS BIGINT) AS replied,
        CAST(COALESCE(a.autoreplied, 0) AS BIGINT) AS autoreplied,
        CAST(COALESCE(a.bounced, 0) AS BIGINT) AS bounced,
        CAST(COALESCE(a.invalid, 0) AS BIGINT) AS invalid,
        CAST(COALESCE(a.opted_out, 0) AS BIGINT) AS opted_out,
        CAST(COALESCE(a.interested, 0) AS BIGINT) AS interested,
        CAST(COALESCE(a.maybe_later, 0) AS BIGINT) AS maybe_later,
        CAST(COALESCE(a.not_interested, 0) AS BIGINT) AS not_interested,
        CAST(COALESCE(a.positive_replies, 0) AS BIGINT) AS positive_replies,
        CAST(COALESCE(a.observed_opens, 0) AS BIGINT) AS observed_opens,
        CAST(COALESCE(a.observed_clicks, 0) AS BIGINT) AS observed_clicks,
        s.captured_at AS reported_at,
        s.prospects AS reported_prospects,
        s.sent AS reported_sent,
        s.delivery AS reported_delivery,
        s.opened AS reported_opened,
        s.clicked AS reported_clicked,
        s.replied AS reported_replied,
        s.autoreplied AS reported_autoreplied,
        s.bounced AS reported_bounced,
        s.invalid AS reported_invalid,
        s.optout AS reported_optout,
        s.interested AS reported_interested,
        s.maybe_later AS reported_maybe_later,
        s.not_interested AS reported_not_interested,
        s.queue AS reported_queue,
        s.to_check AS reported_to_check
    FROM {{ ref('stg_woodpecker__campaigns') }} AS c
    LEFT JOIN per_campaign AS a ON a.campaign_id = c.campaign_id
    LEFT JOIN latest_stats AS s ON s.campaign_id = c.campaign_id
)

SELECT
    *,
    CASE WHEN enrolled > 0 THEN CAST(contacted AS FLOAT8) / enrolled END AS contact_rate,
    CASE WHEN contacted > 0 THEN CAST(bounced AS FLOAT8) / contacted END AS bounce_rate,
    CASE WHEN contacted - bounced > 0 THEN CAST(unique_opened AS FLOAT8) / (contacted - bounced) END AS open_rate,
    CASE
        WHEN contacted - bounced > 0 THEN CAST(unique_clicked AS FLOAT8) / (contacted - bounced)
    END AS click_rate,
    CASE
        WHEN unique_opened_or_clicked > 0 THEN CAST(unique_clicked AS FLOAT8) / unique_opened_or_clicked
    END AS click_to_open_rate,
    CASE WHEN contacted - bounced > 0 THEN CAST(replied AS FLOAT8) / (contacted - bounced) END AS reply_rate,
    CASE WHEN replied > 0 THEN CAST(positive_replies AS FLOAT8) / replied END AS positive_reply_rate,
    CASE WHEN contacted > 0 THEN CAST(opted_out AS FLOAT8) / contacted END AS opt_out_rate,
    reported_prospects - enrolled AS delta_enrolled,
    reported_sent - emails_sent AS delta_emails_sent,
    reported_delivery - emails_delivered AS delta_emails_delivered,
    reported_opened - unique_opened AS delta_unique_opened,
    reported_clicked - unique_clicked AS delta_unique_clicked,
    reported_replied - replied AS delta_replied,
    reported_autoreplied - autoreplied AS delta_autoreplied,
    reported_bounced - bounced AS delta_bounced,
    reported_invalid - invalid AS delta_invalid,
    reported_optout - opted_out AS delta_opted_out,
    reported_interested - interested AS delta_interested,
    reported_maybe_later - maybe_later AS delta_maybe_later,
    reported_not_interested - not_interested AS delta_not_interested
FROM counts
