-- One row per live campaign membership (grain: campaign_id × prospect_id): what happened to one
-- prospect in one campaign. Flags come from the campaign-local status and interest, opens and clicks
-- from the observed history. The prospect-level `last_contacted` / `last_replied` times are attributed
-- to this membership only when it is the prospect's single contacted (resp. replied) membership.
-- Names and e-mail addresses live in prospect_engagement / campaign_performance (join on the ids).
WITH joined AS (
    SELECT
        m.campaign_id,
        m.prospect_id,
        m.status,
        m.interest,
        m.campaign_email,
        m.sent_mails,
        o.observed_opens,
        o.first_opened_at,
        o.last_opened_at,
        k.clicked_links,
        k.observed_clicks,
        k.first_clicked_at,
        k.last_clicked_at,
        CASE WHEN m.sent_mails > 0 THEN a.attributable_contacted_at END AS last_contacted_at,
        CASE WHEN m.status = 'REPLIED' THEN a.attributable_replied_at END AS last_replied_at
    FROM {{ ref('stg_woodpecker__campaign_prospects') }} AS m
    -- LEFT joins keep the planner's row estimate at the membership count, so it hashes the smaller
    -- side of every join. Only prospects with a time to attribute are joined: one contacted (replied)
    -- in several campaigns has none, and leaving them out shrinks the hash table.
    LEFT JOIN (
        SELECT x.prospect_id, x.attributable_contacted_at, x.attributable_replied_at
        FROM {{ ref('int_woodpecker__memberships_per_prospect') }} AS x
        WHERE x.attributable_contacted_at IS NOT NULL OR x.attributable_replied_at IS NOT NULL
    ) AS a ON a.prospect_id = m.prospect_id
    LEFT JOIN {{ ref('int_woodpecker__opens_per_campaign_prospect') }} AS o
        ON o.campaign_id = m.campaign_id AND o.prospect_id = m.prospect_id
    LEFT JOIN {{ ref('int_woodpecker__clicks_per_campaign_prospect') }} AS k
        ON k.campaign_id = m.campaign_id AND k.prospect_id = m.prospect_id
)

SELECT
    campaign_id,
    prospect_id,
    status,
    interest,
    campaign_email,
    CAST(sent_mails AS BIGINT) AS sends,
    sent_mails > 0 AS was_contacted,
    observed_opens IS NOT NULL AS was_opened,
    observed_clicks IS NOT NULL AS was_clicked,
    COALESCE(status = 'REPLIED', FALSE) AS was_replied,
    COALESCE(status = 'AUTOREPLIED', FALSE) AS was_autoreplied,
    COALESCE(status = 'BOUNCED', FALSE) AS was_bounced,
    COALESCE(status = 'INVALID', FALSE) AS was_invalid,
    COALESCE(status = 'OPT_OUT', FALSE) AS was_opted_out,
    interest = 'INTERESTED' AS is_interested,
    COALESCE(status = 'REPLIED', FALSE) AND interest = 'INTERESTED' AS is_positive_reply,
    CAST(COALESCE(observed_opens, 0) AS BIGINT) AS observed_opens,
    CAST(COALESCE(clicked_links, 0) AS BIGINT) AS clicked_links,
    CAST(COALESCE(observed_clicks, 0) AS BIGINT) AS observed_clicks,
    first_opened_at,
    last_opened_at,
    first_clicked_at,
    last_clicked_at,
    last_contacted_at,
    last_replied_at,
    {{ woodpecker_ignoring_nulls('LEAST', 'first_opened_at', 'first_clicked_at', 'last_contacted_at', 'last_replied_at') }} AS first_activity_at,
    {{ woodpecker_ignoring_nulls('GREATEST', 'last_opened_at', 'last_clicked_at', 'last_contacted_at', 'last_replied_at') }} AS last_activity_at,
    CASE
        WHEN last_replied_at >= last_contacted_at
            THEN CAST(EXTRACT(EPOCH FROM last_replied_at) - EXTRACT(EPOCH FROM last_contacted_at) AS FLOAT8)
                / 3600.0
    END AS hours_from_last_send_to_reply
FROM joined
