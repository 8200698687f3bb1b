-- One row per live campaign membership (grain: campaign_id × prospect_id). The latest fetch wins;
-- memberships marked deleted, and memberships of deleted (or unknown) prospects or campaigns, are dropped.
-- Campaign-local status is normalised like the global one; interest to INTERESTED / MAYBE_LATER /
-- NOT_INTERESTED / NOT_MARKED (hyphen and underscore spellings, empty = NOT_MARKED).
-- Only keys seen more than once are ranked (see stg_woodpecker__prospects).
WITH repeated_keys AS (
    SELECT cp.campaign_id, cp.prospect_id
    FROM {{ source('campaign_prospects') }} AS cp
    GROUP BY cp.campaign_id, cp.prospect_id
    HAVING COUNT(*) > 1
),

latest AS (
    SELECT cp.campaign_id, cp.prospect_id, cp.status, cp.interested, cp.sent_mails, cp.campaign_email
    FROM {{ source('campaign_prospects') }} AS cp
    LEFT JOIN repeated_keys AS r ON r.campaign_id = cp.campaign_id AND r.prospect_id = cp.prospect_id
    WHERE r.campaign_id IS NULL AND cp.deleted_at IS NULL
    UNION ALL
    SELECT campaign_id, prospect_id, status, interested, sent_mails, campaign_email
    FROM (
        SELECT
            cp.*,
            ROW_NUMBER() OVER (
                PARTITION BY cp.campaign_id, cp.prospect_id
                ORDER BY cp._fetched_at DESC NULLS LAST, cp.sent_mails DESC NULLS LAST
            ) AS row_rank
        FROM {{ source('campaign_prospects') }} AS cp
        INNER JOIN repeated_keys AS r ON r.campaign_id = cp.campaign_id AND r.prospect_id = cp.prospect_id
    ) AS ranked
    WHERE row_rank = 1 AND deleted_at IS NULL
),

normalised AS (
    SELECT
        m.campaign_id,
        m.prospect_id,
        REPLACE(REPLACE(UPPER(TRIM(m.status)), '-', '_'), ' ', '_') AS status_key,
        REPLACE(REPLACE(UPPER(TRIM(m.interested)), '-', '_'), ' ', '_') AS interest_key,
        m.sent_mails,
        m.campaign_email
    FROM latest AS m
    -- live prospects and campaigns only (their staging keys are unique, so the joins only filter)
    INNER JOIN {{ ref('stg_woodpecker__prospects') }} AS p ON p.prospect_id = m.prospect_id
    INNER JOIN {{ ref('stg_woodpecker__campaigns') }} AS c ON c.campaign_id = m.campaign_id
)

SELECT
    campaign_id,
    prospect_id,
    CASE status_key
        WHEN '' THEN NULL
        WHEN 'RESPONDED' THEN 'REPLIED'
        WHEN 'BLACKLISTED' THEN 'BLACKLIST'
        WHEN 'OPTOUT' THEN 'OPT_OUT'
        WHEN 'OPTED_OUT' THEN 'OPT_OUT'
        WHEN 'AUTO_REPLIED' THEN 'AUTOREPLIED'
        ELSE status_key
    END AS status,
    CASE
        WHEN interest_key IS NULL OR interest_key = '' THEN 'NOT_MARKED'
        ELSE interest_key
    END AS interest,
    CASE WHEN sent_mails > 0 THEN sent_mails ELSE 0 END AS sent_mails,
    NULLIF(LOWER(TRIM(campaign_email)), '') AS campaign_email
FROM normalised
