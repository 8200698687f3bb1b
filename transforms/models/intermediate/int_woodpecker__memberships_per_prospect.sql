-- Campaign memberships per prospect (grain: prospect_id, only prospects in at least one campaign).
-- Used to attribute the prospect-level `last_contacted` / `last_replied` times to a campaign: they
-- belong to a membership only when it is the prospect's one contacted (resp. replied) membership.
SELECT
    m.prospect_id,
    CAST(COUNT(*) AS BIGINT) AS campaigns_enrolled,
    CAST(SUM(CASE WHEN m.sent_mails > 0 THEN 1 ELSE 0 END) AS BIGINT) AS campaigns_contacted,
    CAST(SUM(CASE WHEN m.status = 'REPLIED' THEN 1 ELSE 0 END) AS BIGINT) AS campaigns_replied
FROM {{ ref('stg_woodpecker__campaign_prospects') }} AS m
GROUP BY m.prospect_id
