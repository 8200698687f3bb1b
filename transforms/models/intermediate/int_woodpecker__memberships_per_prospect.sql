-- Per prospect (grain: prospect_id, prospects in at least one live campaign): counts over the
-- prospect's live memberships, read by prospect_engagement, and the prospect-level `last_contacted` /
-- `last_replied` times where they can be attributed to one membership, read by
-- campaign_prospect_engagement: only when exactly one membership was contacted (resp. replied).
WITH counts AS (
    SELECT
        m.prospect_id,
        COUNT(*) AS campaigns_enrolled,
        COUNT(CASE WHEN m.sent_mails > 0 THEN 1 END) AS campaigns_contacted,
        CAST(SUM(m.sent_mails) AS BIGINT) AS emails_sent,
        COUNT(CASE WHEN m.status = 'REPLIED' THEN 1 END) AS campaigns_replied,
        COUNT(CASE WHEN m.status = 'AUTOREPLIED' THEN 1 END) AS campaigns_autoreplied,
        COUNT(CASE WHEN m.status = 'BOUNCED' THEN 1 END) AS campaigns_bounced,
        COUNT(CASE WHEN m.status = 'INVALID' THEN 1 END) AS campaigns_invalid,
        COUNT(CASE WHEN m.status = 'OPT_OUT' THEN 1 END) AS campaigns_opted_out,
        COUNT(CASE WHEN m.interest = 'INTERESTED' THEN 1 END) AS campaigns_interested,
        COUNT(CASE WHEN m.interest = 'MAYBE_LATER' THEN 1 END) AS campaigns_maybe_later,
        COUNT(CASE WHEN m.interest = 'NOT_INTERESTED' THEN 1 END) AS campaigns_not_interested,
        COUNT(CASE WHEN m.status = 'REPLIED' AND m.interest = 'INTERESTED' THEN 1 END) AS campaigns_positive_reply
    FROM {{ ref('stg_woodpecker__campaign_prospects') }} AS m
    GROUP BY m.prospect_id
)

SELECT
    c.*,
    CASE WHEN c.campaigns_contacted = 1 THEN p.last_contacted_at END AS attributable_contacted_at,
    CASE WHEN c.campaigns_replied = 1 THEN p.last_replied_at END AS attributable_replied_at
FROM counts AS c
INNER JOIN {{ ref('stg_woodpecker__prospects') }} AS p ON p.prospect_id = c.prospect_id
