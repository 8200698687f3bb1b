-- One row per live campaign membership (grain: campaign_id × prospect_id). The latest fetch wins;
-- memberships marked deleted, and memberships of deleted (or unknown) prospects or campaigns, are dropped.
-- Campaign-local status is normalised like the global one; interest to INTERESTED / MAYBE_LATER /
-- NOT_INTERESTED / NOT_MARKED (hyphen and underscore spellings, empty = NOT_MARKED).
WITH cleaned AS (
    SELECT
        cp.campaign_id,
        cp.prospect_id,
        REPLACE(REPLACE(UPPER(TRIM(cp.status)), '-', '_'), ' ', '_') AS status_key,
        REPLACE(REPLACE(UPPER(TRIM(cp.interested)), '-', '_'), ' ', '_') AS interest_key,
        cp.sent_mails,
        NULLIF(LOWER(TRIM(cp.campaign_email)), '') AS campaign_email,
        cp.deleted_at,
        cp._fetched_at
    FROM {{ typed_source(source('woodpecker', 'campaign_prospects')) }} AS cp
),

repeated_keys AS (
    SELECT c.campaign_id, c.prospect_id
    FROM cleaned AS c
    GROUP BY c.campaign_id, c.prospect_id
    HAVING COUNT(*) > 1
),

latest AS (
    SELECT c.campaign_id, c.prospect_id, c.status_key, c.interest_key, c.sent_mails, c.campaign_email
    FROM cleaned AS c
    LEFT JOIN repeated_keys AS r ON r.campaign_id = c.campaign_id AND r.prospect_id = c.prospect_id
    WHERE r.campaign_id IS NULL AND c.deleted_at IS NULL
    UNION ALL
    SELECT campaign_id, prospect_id, status_key, interest_key, sent_mails, campaign_email
    FROM (
        SELECT
            c.*,
            ROW_NUMBER() OVER (
                PARTITION BY c.campaign_id, c.prospect_id
                ORDER BY c._fetched_at DESC NULLS LAST, c.sent_mails DESC NULLS LAST
            ) AS row_rank
        FROM cleaned AS c
        INNER JOIN repeated_keys AS r ON r.campaign_id = c.campaign_id AND r.prospect_id = c.prospect_id
    ) AS ranked
    WHERE row_rank = 1 AND deleted_at IS NULL
)

SELECT
    m.campaign_id,
    m.prospect_id,
    {{ woodpecker_status('m.status_key') }} AS status,
    CASE
        WHEN m.interest_key IS NULL OR m.interest_key = '' THEN 'NOT_MARKED'
        ELSE m.interest_key
    END AS interest,
    CASE WHEN m.sent_mails > 0 THEN m.sent_mails ELSE 0 END AS sent_mails,
    m.campaign_email
FROM latest AS m
-- live prospects and campaigns only (their staging keys are unique, so the joins only filter)
INNER JOIN {{ ref('stg_woodpecker__prospects') }} AS p ON p.prospect_id = m.prospect_id
INNER JOIN {{ ref('stg_woodpecker__campaigns') }} AS c ON c.campaign_id = m.campaign_id
