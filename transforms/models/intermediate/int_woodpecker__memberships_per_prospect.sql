-- Campaign memberships rolled up per prospect (grain: prospect_id, prospects in at least one live
-- campaign). Counts memberships by campaign-local outcome; `campaigns_contacted` and
-- `campaigns_replied` also decide whether the prospect-level `last_contacted` / `last_replied` times
-- can be attributed to one campaign (only when exactly one membership was contacted / replied).
SELECT
    m.prospect_id,
    CAST(COUNT(*) AS BIGINT) AS campaigns_enrolled,
    CAST(SUM(CASE WHEN m.sent_mails > 0 THEN 1 ELSE 0 END) AS BIGINT) AS campaigns_contacted,
    CAST(SUM(m.sent_mails) AS BIGINT) AS emails_sent,
    CAST(SUM(CASE WHEN m.status = 'REPLIED' THEN 1 ELSE 0 END) AS BIGINT) AS campaigns_replied,
    CAST(SUM(CASE WHEN m.status = 'AUTOREPLIED' THEN 1 ELSE 0 END) AS BIGINT) AS campaigns_autoreplied,
    CAST(SUM(CASE WHEN m.status = 'BOUNCED' THEN 1 ELSE 0 END) AS BIGINT) AS campaigns_bounced,
    CAST(SUM(CASE WHEN m.status = 'INVALID' THEN 1 ELSE 0 END) AS BIGINT) AS campaigns_invalid,
    CAST(SUM(CASE WHEN m.status = 'OPT_OUT' THEN 1 ELSE 0 END) AS BIGINT) AS campaigns_opted_out,
    CAST(SUM(CASE WHEN m.interest = 'INTERESTED' THEN 1 ELSE 0 END) AS BIGINT) AS campaigns_interested,
    CAST(SUM(CASE WHEN m.interest = 'MAYBE_LATER' THEN 1 ELSE 0 END) AS BIGINT) AS campaigns_maybe_later,
    CAST(SUM(CASE WHEN m.interest = 'NOT_INTERESTED' THEN 1 ELSE 0 END) AS BIGINT) AS campaigns_not_interested,
    CAST(
        SUM(CASE WHEN m.status = 'REPLIED' AND m.interest = 'INTERESTED' THEN 1 ELSE 0 END) AS BIGINT
    ) AS campaigns_positive_reply
FROM {{ ref('stg_woodpecker__campaign_prospects') }} AS m
GROUP BY m.prospect_id
