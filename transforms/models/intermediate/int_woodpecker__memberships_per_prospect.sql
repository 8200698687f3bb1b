-- How many of a prospect's live memberships were contacted and replied (grain: prospect_id, prospects
-- in at least one live campaign). They decide whether the prospect-level `last_contacted` /
-- `last_replied` times can be attributed to one campaign: only when exactly one membership was
-- contacted (resp. replied). The other per-prospect counts are rolled up from
-- campaign_prospect_engagement in prospect_engagement.
SELECT
    m.prospect_id,
    CAST(SUM(CASE WHEN m.sent_mails > 0 THEN 1 ELSE 0 END) AS BIGINT) AS campaigns_contacted,
    CAST(SUM(CASE WHEN m.status = 'REPLIED' THEN 1 ELSE 0 END) AS BIGINT) AS campaigns_replied
FROM {{ ref('stg_woodpecker__campaign_prospects') }} AS m
GROUP BY m.prospect_id
