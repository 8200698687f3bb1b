-- One row per live campaign membership (grain: campaign_id × prospect_id). The latest fetch wins;
-- memberships marked deleted, and memberships of deleted (or unknown) prospects or campaigns, are dropped.
-- Campaign-local status is normalised like the global one; interest to INTERESTED / MAYBE_LATER /
-- NOT_INTERESTED / NOT_MARKED (hyphen and underscore spellings, empty = NOT_MARKED).
WITH ranked AS (
    SELECT
        cp.*,
        ROW_NUMBER() OVER (
            PARTITION BY cp.campaign_id, cp.prospect_id
            ORDER BY cp._fetched_at DESC NULLS LAST
        ) AS row_rank
    FROM {{ source('campaign_prospects') }} AS cp
    WHERE cp.campaign_id IS NOT NULL AND cp.prospect_id IS NOT NULL
),

latest AS (
    SELECT
        *,
        REPLACE(REPLACE(UPPER(TRIM(status)), '-', '_'), ' ', '_') AS status_key,
        REPLACE(REPLACE(UPPER(TRIM(interested)), '-', '_'), ' ', '_') AS interest_key
    FROM ranked
    WHERE row_rank = 1 AND deleted_at IS NULL
)

SELECT
    m.campaign_id,
    m.prospect_id,
    CASE m.status_key
        WHEN '' THEN NULL
        WHEN 'RESPONDED' THEN 'REPLIED'
        WHEN 'BLACKLISTED' THEN 'BLACKLIST'
        WHEN 'OPTOUT' THEN 'OPT_OUT'
        WHEN 'OPTED_OUT' THEN 'OPT_OUT'
        WHEN 'AUTO_REPLIED' THEN 'AUTOREPLIED'
        ELSE m.status_key
    END AS status,
    CASE
        WHEN m.interest_key IS NULL OR m.interest_key = '' THEN 'NOT_MARKED'
        ELSE m.interest_key
    END AS interest,
    CASE WHEN m.sent_mails > 0 THEN m.sent_mails ELSE 0 END AS sent_mails,
    NULLIF(LOWER(TRIM(m.campaign_email)), '') AS campaign_email
FROM latest AS m
WHERE
    EXISTS (SELECT 1 FROM {{ ref('stg_woodpecker__prospects') }} AS p WHERE p.prospect_id = m.prospect_id)
    AND EXISTS (SELECT 1 FROM {{ ref('stg_woodpecker__campaigns') }} AS c WHERE c.campaign_id = m.campaign_id)
