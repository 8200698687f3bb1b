-- Per prospect (grain: prospect_id, prospects in at least one live campaign): counts over the
-- prospect's live memberships, and the prospect-level `last_contacted` / `last_replied` times where
-- they can be attributed to one membership: only when exactly one membership was contacted (resp.
-- replied).
WITH counts AS (
    SELECT
        m.prospect_id,
        COUNT(*) AS campaigns_enrolled,
        SUM(CASE WHEN m.sent_mails > 0 THEN 1 ELSE 0 END) AS campaigns_contacted,
        SUM(m.sent_mails) AS emails_sent,
        SUM(CASE WHEN m.status = 'REPLIED' THEN 1 ELSE 0 END) AS campaigns_replied,
        SUM(CASE WHEN m.status = 'AUTOREPLIED' THEN 1 ELSE 0 END) AS campaigns_autoreplied,
        SUM(CASE WHEN m.status = 'BOUNCED' THEN 1 ELSE 0 END) AS campaigns_bounced,
        SUM(CASE WHEN m.status = 'INVALID' THEN 1 ELSE 0 END) AS campaigns_invalid,
        SUM(CASE WHEN m.status = 'OPT_OUT' THEN 1 ELSE 0 END) AS campaigns_opted_out,
        SUM(CASE WHEN m.interest = 'INTERESTED' THEN 1 ELSE 0 END) AS campaigns_interested,
        SUM(CASE WHEN m.interest = 'MAYBE_LATER' THEN 1 ELSE 0 END) AS campaigns_maybe_later,
        SUM(CASE WHEN m.interest = 'NOT_INTERESTED' THEN 1 ELSE 0 END) AS campaigns_not_interested,
        SUM(CASE WHEN m.status = 'REPLIED' AND m.interest = 'INTERESTED' THEN 1 ELSE 0 END)
            AS campaigns_positive_reply
    FROM {{ ref('stg_woodpecker__campaign_prospects') }} AS m
    GROUP BY m.prospect_id
)

SELECT
    c.prospect_id,
    CAST(c.campaigns_enrolled AS BIGINT) AS campaigns_enrolled,
    CAST(c.campaigns_contacted AS BIGINT) AS campaigns_contacted,
    CAST(c.emails_sent AS BIGINT) AS emails_sent,
    CAST(c.campaigns_replied AS BIGINT) AS campaigns_replied,
    CAST(c.campaigns_autoreplied AS BIGINT) AS campaigns_autoreplied,
    CAST(c.campaigns_bounced AS BIGINT) AS campaigns_bounced,
    CAST(c.campaigns_invalid AS BIGINT) AS campaigns_invalid,
    CAST(c.campaigns_opted_out AS BIGINT) AS campaigns_opted_out,
    CAST(c.campaigns_interested AS BIGINT) AS campaigns_interested,
    CAST(c.campaigns_maybe_later AS BIGINT) AS campaigns_maybe_later,
    CAST(c.campaigns_not_interested AS BIGINT) AS campaigns_not_interested,
    CAST(c.campaigns_positive_reply AS BIGINT) AS campaigns_positive_reply,
    CASE WHEN c.campaigns_contacted = 1 THEN p.last_contacted_at END AS attributable_contacted_at,
    CASE WHEN c.campaigns_replied = 1 THEN p.last_replied_at END AS attributable_replied_at
FROM counts AS c
INNER JOIN {{ ref('stg_woodpecker__prospects') }} AS p ON p.prospect_id = c.prospect_id
